/**
 * The Lua the Redis persister runs: one script call per operation, so each is one HTTP request
 * on Upstash and atomic (Redis runs one script at a time).
 *
 * A step's hash holds Burr's seven fields and nothing else. What the kit knows about a step
 * beyond them is in the member of the app's steps index (`<ns:><partition>:<app>:%steps`, score
 * the sequence id): `<seq>:<marker>:<prev>[:<fork>]`, where
 * - `marker` is the step's place in its partition's save order (the `%recent` score it gave the app);
 * - `prev` is the app's marker before this save (a Burr-only app's is its score − (2^53 − 1)), empty
 *   when the app had no step; `listApps` reads it to place an app as of a snapshot;
 * - `fork` is the state's fork lineage as JSON text, when it has one (`listHistory` reports it without the state).
 * A member that is only `<seq>` indexes a step saved before the index existed (by Burr's Python
 * or an older burr-edge).
 */

/**
 * Lua shared by both scripts.
 * - `tag`: every string a script returns is prefixed with `=`, which no JSON text starts with:
 *   a client that JSON-parses replies (`@upstash/redis`'s default) leaves it as it is, so `"1"`
 *   cannot come back as the number 1.
 * - `member`: a steps-index member taken apart (see above).
 * - `esc`: `escapeKeyPart` in Lua. `int`: a score or id as integer digits (Lua's own
 *   number formatting would write 1.7e+15).
 * - `lt`: byte order of two strings. Lua's `<` on strings follows the server's locale
 *   (Redis sets LC_COLLATE from the environment), sorted sets and ZRANGEBYLEX follow bytes.
 * - `BURR`: 2^53 − 1. An app only Burr's Python persister saved (in Burr's sorted set, not in
 *   `%recent`) is placed at marker `score − BURR`: below every marker the kit gives, highest
 *   sequence id first, as `listAppIds` orders them (a safe integer for any sequence id, so it
 *   travels in a cursor).
 * - `iso`: `TIME` as Python's `datetime.now(timezone.utc).isoformat()`, always with microseconds
 *   (days-to-civil after Howard Hinnant).
 * @internal
 */
export const LUA_COMMON = `
local BURR = 9007199254740991
local function tag(v) if v then return '=' .. v end return false end
local function esc(s) return (string.gsub(string.gsub(s, '%%', '%%25'), ':', '%%3A')) end
local function int(n) return string.format('%.0f', tonumber(n)) end
-- a steps-index member: seq (text), marker, prev (numbers or nil), fork (text or false)
local function member(m)
  local seq, marker, prev, fork = string.match(m, '^(%d+):(%d+):(%-?%d*):?(.*)$')
  if not seq then return m, nil, nil, false end
  return seq, tonumber(marker), tonumber(prev), fork ~= '' and fork
end
local function lt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function iso(sec, usec)
  local f = math.floor
  local days = f(sec / 86400)
  local rem = sec - days * 86400
  local z = days + 719468
  local era = f(z / 146097)
  local doe = z - era * 146097
  local yoe = f((doe - f(doe / 1460) + f(doe / 36524) - f(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + f(yoe / 4) - f(yoe / 100))
  local mp = f((5 * doy + 2) / 153)
  local d = doy - f((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00', y, m, d, f(rem / 3600), f(rem % 3600 / 60), rem % 60, usec)
end
`;

/**
 * The write script.
 * - `init`: KEYS = {marker}; ARGV = {op, value}.
 * - `save`: KEYS = {record hash, Burr's sorted set, recency sorted set, latest pointer, the app's
 *   steps index, the partitions index}; ARGV = {op, partition_key, app_id, sequence_id, position,
 *   state, status, ttl seconds (0: none), pointer, expected sequence id ('' none, -1 no step),
 *   fork lineage JSON ('' none), the app's record key prefix}. Atomically: with an expectation,
 *   refuses unless the app's latest step (Burr's score, when its hash still exists) is the one
 *   expected, returning the record at the key and that latest id (-1: none); refuses an existing
 *   key (returning what holds it); gives the step its marker — microseconds of the server clock,
 *   forced above every marker of the partition, so markers increase in commit order; on the
 *   kit's first save to an app that has steps but no index (Burr's Python or an older burr-edge
 *   wrote them), indexes those steps (one EXISTS per sequence id up to its score, below 100000);
 *   writes Burr's hash (Burr's seven fields) with the server's clock; `ZADD GT` on Burr's sorted
 *   set (Burr sets the score to the saved sequence id, so a late save of an older step would
 *   lower it); records the marker in the recency set; points the partition's latest pointer at
 *   this step; adds the step to the app's index (with its marker, the app's previous marker and the fork
 *   lineage) and the partition to the partitions index. With
 *   a TTL: expires all six keys, drops from both sorted sets the apps whose last save is older
 *   than the TTL (no step of theirs is left), and drops from the app's index its oldest entries
 *   whose step expired.
 * - `del`: KEYS = {Burr's sorted set, recency sorted set, latest pointer, the app's steps index,
 *   partitions index}; ARGV = {op, app_id, partition prefix, partition_key}. Atomically: deletes
 *   the hashes of sequence ids 0 to the app's score in Burr's sorted set (steps may be sparse;
 *   deleting a missing key is harmless), in batches of 1000 keys, and the app's index; removes
 *   the app from both sorted sets; when the latest pointer names this app, points it at the
 *   latest step of the most recently saved app left (keeping its TTL), or deletes it; when the
 *   partition has no app left, removes it from the partitions index. Refuses (changing nothing)
 *   an app whose score is 100000 or more: the loop costs one `DEL` per sequence id, and the
 *   script holds the server while it runs.
 * - `prune`: KEYS = {partitions index}; ARGV = {op, namespace prefix, scope ('all', 'partition'
 *   or 'app'), partition_key, app_id, keep last (0: no such rule), cutoff ('' none: Python's ISO
 *   form, compared as text)}. For each app in scope, of its steps by sequence id (its index; for
 *   an app only Burr's Python saved, the ids up to its score that have a hash, when below
 *   100000) deletes those that are not among the last `max(keep, 1)` and whose `created_at` is
 *   before the cutoff. Scope 'all' walks the partitions index, and drops from it the partitions
 *   whose sorted set is gone (expired). Returns the number of steps deleted. One script: it
 *   holds the server while it runs, as long as the steps in scope take.
 * @internal
 */
export const WRITE_SCRIPT = `${LUA_COMMON}
local op = ARGV[1]
if op == 'init' then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
if op == 'del' then
  local app, pre = ARGV[2], esc(ARGV[2]) .. ':'
  local n = tonumber(redis.call('ZSCORE', KEYS[1], app) or -1)
  if n >= 100000 then return redis.error_reply('ERR burr-edge: deleteApp covers sequence ids below 100000, the app has ' .. int(n)) end
  for i = 0, n, 1000 do
    local ks = {}
    for j = i, math.min(i + 999, n) do ks[#ks + 1] = ARGV[3] .. pre .. j end
    redis.call('DEL', unpack(ks))
  end
  redis.call('DEL', KEYS[4])
  redis.call('ZREM', KEYS[1], app)
  redis.call('ZREM', KEYS[2], app)
  local p = redis.call('GET', KEYS[3])
  if p and string.sub(p, 1, #pre) == pre then
    local top = redis.call('ZREVRANGE', KEYS[2], 0, 0)[1]
    local seq = top and redis.call('ZSCORE', KEYS[1], top)
    if seq then redis.call('SET', KEYS[3], esc(top) .. ':' .. int(seq), 'KEEPTTL') else redis.call('DEL', KEYS[3]) end
  end
  if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[5], ARGV[4]) end
  return 1
end
if op == 'prune' then
  local prefix, keep, cutoff = ARGV[2], math.max(tonumber(ARGV[6]), 1), ARGV[7]
  local deleted = 0
  local function prune_app(pset, app)
    local rp = pset .. ':' .. esc(app) .. ':'
    local index = rp .. '%steps'
    local seqs = redis.call('ZRANGE', index, 0, -1)
    if #seqs == 0 then
      local top = tonumber(redis.call('ZSCORE', pset, app) or -1)
      if top >= 100000 then return end
      for i = 0, top do
        if redis.call('EXISTS', rp .. i) == 1 then seqs[#seqs + 1] = int(i) end
      end
    end
    -- seqs ascend: the last keep of them stay, the latest always among them
    for i = 1, #seqs - keep do
      local key = rp .. member(seqs[i])
      local old = true
      if cutoff ~= '' then
        local at = redis.call('HGET', key, 'created_at')
        old = at and lt(at, cutoff)
      end
      if old then
        deleted = deleted + redis.call('DEL', key)
        redis.call('ZREM', index, seqs[i])
      end
    end
  end
  local function prune_partition(pk)
    local pset = prefix .. esc(pk)
    if ARGV[3] == 'app' then return prune_app(pset, ARGV[5]) end
    for _, app in ipairs(redis.call('ZRANGE', pset, 0, -1)) do prune_app(pset, app) end
  end
  if ARGV[3] == 'all' then
    for _, pk in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      if redis.call('EXISTS', prefix .. esc(pk)) == 1 then prune_partition(pk) else redis.call('ZREM', KEYS[1], pk) end
    end
  else
    prune_partition(ARGV[4])
  end
  return deleted
end
if op ~= 'save' then return redis.error_reply('ERR burr-edge: unknown operation ' .. tostring(op)) end
local app, rp = ARGV[3], ARGV[12]
local top = redis.call('ZSCORE', KEYS[2], app)
if ARGV[10] ~= '' then
  -- a score whose step is gone (expired) is no step
  local have = -1
  if top and redis.call('EXISTS', rp .. int(top)) == 1 then have = tonumber(top) end
  if have ~= tonumber(ARGV[10]) or redis.call('EXISTS', KEYS[1]) == 1 then
    local v = redis.call('HMGET', KEYS[1], 'position', 'status', 'state')
    return {0, tag(v[1]), tag(v[2]), tag(v[3]), have}
  end
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  local v = redis.call('HMGET', KEYS[1], 'position', 'status', 'state')
  return {0, tag(v[1]), tag(v[2]), tag(v[3])}
end
local t = redis.call('TIME')
local sec, usec = tonumber(t[1]), tonumber(t[2])
local now = sec * 1000000 + usec
local marker = now
local newest = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= marker then marker = tonumber(newest[2]) + 1 end
local prev = redis.call('ZSCORE', KEYS[3], app)
if prev then prev = int(prev) elseif top then prev = int(tonumber(top) - BURR) end
if top and tonumber(top) < 100000 and redis.call('EXISTS', KEYS[5]) == 0 then
  for i = 0, tonumber(top) do
    if redis.call('EXISTS', rp .. i) == 1 then redis.call('ZADD', KEYS[5], i, i) end
  end
end
redis.call('HSET', KEYS[1], 'partition_key', ARGV[2], 'app_id', app, 'sequence_id', ARGV[4], 'position', ARGV[5], 'state', ARGV[6], 'status', ARGV[7], 'created_at', iso(sec, usec))
redis.call('ZADD', KEYS[2], 'GT', ARGV[4], app)
redis.call('ZADD', KEYS[3], int(marker), app)
redis.call('SET', KEYS[4], ARGV[9])
-- an entry left by a step of this id that expired goes: one entry per sequence id
redis.call('ZREMRANGEBYSCORE', KEYS[5], ARGV[4], ARGV[4])
local entry = ARGV[4] .. ':' .. int(marker) .. ':' .. (prev or '')
if ARGV[11] ~= '' then entry = entry .. ':' .. ARGV[11] end
redis.call('ZADD', KEYS[5], ARGV[4], entry)
redis.call('ZADD', KEYS[6], 0, ARGV[2])
local ttl = tonumber(ARGV[8])
if ttl > 0 then
  for i = 1, 6 do redis.call('EXPIRE', KEYS[i], ttl) end
  local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. int(now - ttl * 1000000), 'LIMIT', 0, 500)
  if #stale > 0 then
    redis.call('ZREM', KEYS[3], unpack(stale))
    redis.call('ZREM', KEYS[2], unpack(stale))
  end
  -- steps expire oldest first: trim the index's expired head, a few entries per save
  for _, m in ipairs(redis.call('ZRANGE', KEYS[5], 0, 19)) do
    if redis.call('EXISTS', rp .. member(m)) == 1 then break end
    redis.call('ZREM', KEYS[5], m)
  end
end
return {1}
`;

/**
 * The read script; it writes nothing (runs under `EVAL_RO`). A record comes back as
 * {partition_key, app_id, sequence_id, position, status, state, created_at}, tagged.
 * - `latest`: KEYS = {Burr's sorted set}; ARGV = {op, app_id, record key prefix}. ZSCORE then
 *   HMGET in one request (the record key is derived from the score, as Burr does).
 * - `seq`: KEYS = {record hash}.
 * - `partition`: KEYS = {latest pointer, Burr's sorted set}; ARGV = {op, partition prefix}. The
 *   pointer's step; without one (a partition only Burr's Python persister wrote), of each app's
 *   latest step the one created last (UTC ISO text with `+00:00` sorts by time, also when
 *   Python left the fraction out: `+` sorts before `.`).
 * - `list`: KEYS = {Burr's sorted set, recency sorted set}; ARGV = {op, limit (0: all), ttl}.
 *   Apps by recency (with a TTL, only those saved within it), then apps only Burr's Python
 *   persister saved, highest sequence id first. Every app the kit saved is in both sets, so
 *   equal sizes mean there is no such app and the second pass is skipped.
 * - `history`: KEYS = {the app's steps index, Burr's sorted set}; ARGV = {op, app_id, the app's
 *   record key prefix, limit, before ('' none), with state ('1'), from ('' none), latest block
 *   size ('' none)}. Up to `limit` steps below `before` (and at or above `from`, or the start of
 *   the newest step's block), highest sequence id first, as {sequence_id, position, status, created_at, fork,
 *   state}; ids whose hash is gone (expired, pruned) are skipped. An app without an index (only
 *   Burr's Python saved it) is read by probing the ids below its score, at most 100000 per page.
 * - `apps`: KEYS = {Burr's sorted set, recency sorted set}; ARGV = {op, partition prefix, limit,
 *   snapshot ('' on the first page: the partition's newest marker), after marker, after app id}.
 *   Returns {snapshot, rows}, each row {app_id, latest sequence id, position, status, created_at,
 *   marker}. Order: marker as of the snapshot descending, then app id descending (bytes). An app
 *   whose recency score is at or below the snapshot was not saved since: its score is its
 *   place. One saved since is placed by walking its steps down from the highest sequence id past
 *   those saved after the snapshot (in the index members); the last one's `prev` is where the app stood (none:
 *   created since, not listed). Apps only Burr's Python saved come last, at `score − BURR`.
 *   Apps whose latest step is gone (expired) are skipped.
 * - `parts`: KEYS = {partitions index}; ARGV = {op, namespace prefix, limit, has after ('1'),
 *   after}. Partition keys in byte order (ZRANGEBYLEX) whose sorted set still exists.
 * - `check`: KEYS = {marker}; ARGV = {op, SCAN pattern of the namespace, cursor}. 1 when the
 *   marker exists or a key of the namespace does (a store only Burr's Python wrote has no marker),
 *   0 when the scan is done and found none, else the tagged cursor to go on from (at most 20
 *   SCAN calls of 1000 per request, so one request never holds the server long).
 * @internal
 */
export const READ_SCRIPT = `${LUA_COMMON}
local FIELDS = {'partition_key', 'app_id', 'sequence_id', 'position', 'status', 'state', 'created_at'}
local function row(key)
  local v = redis.call('HMGET', key, unpack(FIELDS))
  if not v[6] then return false end
  local out = {}
  for i = 1, 7 do out[i] = tag(v[i]) end
  return out
end
local op = ARGV[1]
if op == 'seq' then return row(KEYS[1]) end
if op == 'latest' then
  local seq = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if not seq then return false end
  return row(ARGV[3] .. int(seq))
end
if op == 'partition' then
  local pointer = redis.call('GET', KEYS[1])
  if pointer then
    local r = row(ARGV[2] .. pointer)
    if r then return r end
  end
  local best, bestAt = false, false
  local apps = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #apps, 2 do
    local key = ARGV[2] .. esc(apps[i]) .. ':' .. int(apps[i + 1])
    local at = redis.call('HGET', key, 'created_at')
    if at and (not bestAt or at > bestAt) then best, bestAt = key, at end
  end
  if best then return row(best) end
  return false
end
if op == 'list' then
  local limit = tonumber(ARGV[2])
  local min = '-inf'
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then
    local t = redis.call('TIME')
    min = int(tonumber(t[1]) * 1000000 + tonumber(t[2]) - ttl * 1000000)
  end
  local recent
  if limit > 0 then recent = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', min, 'LIMIT', 0, limit)
  else recent = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', min) end
  local out = {}
  for i, app in ipairs(recent) do out[i] = tag(app) end
  if limit > 0 and #out >= limit then return out end
  if redis.call('ZCARD', KEYS[1]) == redis.call('ZCARD', KEYS[2]) then return out end
  for _, app in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
    if not redis.call('ZSCORE', KEYS[2], app) then
      out[#out + 1] = tag(app)
      if limit > 0 and #out >= limit then break end
    end
  end
  return out
end
if op == 'history' then
  local rp, limit, before = ARGV[3], tonumber(ARGV[4]), ARGV[5]
  local wanted = {'position', 'status', 'created_at'}
  if ARGV[6] == '1' then wanted[4] = 'state' end
  local out = {}
  local function add(m)
    local seq, _, _, fork = member(m)
    local v = redis.call('HMGET', rp .. seq, unpack(wanted))
    if v[1] then out[#out + 1] = {tag(seq), tag(v[1]), tag(v[2]), tag(v[3]), tag(fork), tag(v[4])} end
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then
    local max = before == '' and '+inf' or '(' .. before
    local min = (ARGV[7] or '') ~= '' and ARGV[7] or '-inf'
    if (ARGV[8] or '') ~= '' and before == '' then
      local top = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
      if top[2] then
        local k = tonumber(ARGV[8])
        min = math.floor(tonumber(top[2]) / k) * k
      end
    end
    local off = 0
    while #out < limit do
      local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, min, 'LIMIT', off, limit)
      for _, s in ipairs(batch) do
        if #out < limit then add(s) end
      end
      if #batch < limit then break end
      off = off + #batch
    end
  else
    local top = redis.call('ZSCORE', KEYS[2], ARGV[2])
    if top then
      local i = tonumber(top)
      if before ~= '' then i = math.min(i, tonumber(before) - 1) end
      local stop = math.max(i - 100000, -1)
      while i > stop and #out < limit do
        add(int(i))
        i = i - 1
      end
    end
  end
  return out
end
if op == 'apps' then
  local pre, limit = ARGV[2], tonumber(ARGV[3])
  local snap
  if ARGV[4] == '' then
    snap = tonumber(redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2] or 0)
  else
    snap = tonumber(ARGV[4])
  end
  local hasAfter, am, aid = ARGV[5] ~= '', tonumber(ARGV[5]), ARGV[6]
  local function after(m, app) return not hasAfter or m < am or (m == am and lt(app, aid)) end
  local function first(a, b) return a[1] > b[1] or (a[1] == b[1] and lt(b[2], a[2])) end
  -- where an app saved since the snapshot stood at it (false: it had no step then)
  local function placed(rp)
    local place, off = false, 0
    while true do
      local batch = redis.call('ZREVRANGE', rp .. '%steps', off, off + 99)
      for _, entry in ipairs(batch) do
        local _, m, prev = member(entry)
        if not m or m <= snap then return place or m or false end
        place = prev or false
      end
      if #batch < 100 then return place end
      off = off + 100
    end
  end
  -- apps saved since the snapshot, and apps only Burr's Python saved: placed here, merged below
  local extra = {}
  for _, app in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. int(snap), '+inf')) do
    local m = placed(pre .. esc(app) .. ':')
    if m and after(m, app) then extra[#extra + 1] = {m, app} end
  end
  if redis.call('ZCARD', KEYS[1]) ~= redis.call('ZCARD', KEYS[2]) then
    local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #all, 2 do
      if not redis.call('ZSCORE', KEYS[2], all[i]) then
        local m = tonumber(all[i + 1]) - BURR
        if after(m, all[i]) then extra[#extra + 1] = {m, all[i]} end
      end
    end
  end
  table.sort(extra, first)
  -- apps not saved since the snapshot, in the recency set's own order, a batch at a time
  local max = snap
  if hasAfter and am < max then max = am end
  local batch, bi, off, done = {}, 1, 0, false
  local function peek()
    while true do
      if bi > #batch then
        if done then return nil end
        batch = redis.call('ZREVRANGEBYSCORE', KEYS[2], int(max), '-inf', 'WITHSCORES', 'LIMIT', off, 100)
        off, bi = off + #batch / 2, 1
        if #batch < 200 then done = true end
        if #batch == 0 then return nil end
      end
      local e = {tonumber(batch[bi + 1]), batch[bi]}
      if after(e[1], e[2]) then return e end
      bi = bi + 2
    end
  end
  local rows, ei = {}, 1
  while #rows < limit do
    local k, e = peek(), extra[ei]
    local take
    if k and (not e or first(k, e)) then
      take, bi = k, bi + 2
    elseif e then
      take, ei = e, ei + 1
    else
      break
    end
    local seq = redis.call('ZSCORE', KEYS[1], take[2])
    if seq then
      local v = redis.call('HMGET', pre .. esc(take[2]) .. ':' .. int(seq), 'position', 'status', 'created_at')
      if v[1] then rows[#rows + 1] = {tag(take[2]), tonumber(seq), tag(v[1]), tag(v[2]), tag(v[3]), take[1]} end
    end
  end
  return {snap, rows}
end
if op == 'parts' then
  local limit = tonumber(ARGV[3])
  local min = ARGV[4] == '1' and '(' .. ARGV[5] or '-'
  local out, off = {}, 0
  while #out < limit do
    local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', off, 100)
    for _, pk in ipairs(batch) do
      if #out < limit and redis.call('EXISTS', ARGV[2] .. esc(pk)) == 1 then out[#out + 1] = tag(pk) end
    end
    if #batch < 100 then break end
    off = off + 100
  end
  return out
end
if op == 'check' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
  local c = ARGV[3]
  for i = 1, 20 do
    local r = redis.call('SCAN', c, 'MATCH', ARGV[2], 'COUNT', 1000)
    if #r[2] > 0 then return 1 end
    c = r[1]
    if c == '0' then return 0 end
  end
  return tag(c)
end
return redis.error_reply('ERR burr-edge: unknown operation ' .. tostring(op))
`;

/** A script and its SHA-1, computed once per script with Web Crypto where there is one. */
export class LuaScript {
  #sha: Promise<string | null> | undefined;
  constructor(readonly text: string) {}

  /** Hex SHA-1, or `null` where Web Crypto is missing (e.g. a page over plain http): then EVAL is used. */
  sha1(): Promise<string | null> {
    this.#sha ??= (async () => {
      const subtle = globalThis.crypto?.subtle;
      if (!subtle) return null;
      try {
        const digest = await subtle.digest('SHA-1', new TextEncoder().encode(this.text));
        return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
      } catch {
        return null;
      }
    })();
    return this.#sha;
  }
}

export const WRITE = new LuaScript(WRITE_SCRIPT);
export const READ = new LuaScript(READ_SCRIPT);
