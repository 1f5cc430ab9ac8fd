/** Addresses of the harness's servers, handed to every test project by the global setup. */
export interface HarnessAddresses {
  hranaUrl: string;
  hranaToken: string;
  postgresUrl: string;
  neonSqlEndpoint: string;
  neonWsProxyPort: number;
  upstashUrl: string;
  upstashToken: string;
  redisUrl: string;
}
