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
  /**
   * MongoDB endpoints: the harness's wire-protocol test server first, then a real MongoDB when
   * MONGODB_URL is set. Each has burr-edge's gateway in front of it.
   */
  mongodb: MongoEndpoint[];
}

export interface MongoEndpoint {
  /** `test server` (the harness's wire-protocol server) or `real MongoDB`: named in every result. */
  server: string;
  /** mongodb://… for the driver. */
  url: string;
  /** The gateway's base URL (Data API shapes). */
  gatewayUrl: string;
  gatewayKey: string;
  /** The database the gateway serves; any collection name of letters, digits and `_` in it. */
  database: string;
}
