-- The Go pair's record script: analytics-service's kRecordScript as of revision 727b7ad (one dedup
-- key per read, SET NX EX; a PFCOUNT per article per call), whose KEYS and ARGV go-analytics sends.
-- analytics-service has moved on (dedup markers in small hashes; a large readership's count kept
-- for a second); the Go pair keeps this form, the baseline's own. bench/go-pair/build embeds it.
local days, articles = tonumber(ARGV[2]), tonumber(ARGV[3])
local seen, per_read = 1 + days + 2 * articles, 3 + days + 2 * articles
local head_key, log_key = KEYS[#KEYS - 1], KEYS[#KEYS]
if #ARGV - per_read ~= 2 * (#KEYS - 2 - seen) then
  return redis.error_reply('ERR record script: KEYS and ARGV do not match')
end
local out = {}

local function record(a, first, n)
  local reads_key, readers_key = KEYS[2 * a + days], KEYS[2 * a + 1 + days]
  local id = ARGV[2 + days + 2 * a]
  local total, new, day_reads, readers = nil, 0, {}, {}
  for r = first, first + n - 1 do
    if redis.call('SET', KEYS[seen + r], '1', 'NX', 'EX', ARGV[1]) then
      total = redis.call('INCR', reads_key)
      new = new + 1
      local day = tonumber(ARGV[per_read + 2 * r - 1])
      if day > 0 then day_reads[day] = (day_reads[day] or 0) + 1 end
      local reader = ARGV[per_read + 2 * r]
      if reader ~= '' then readers[#readers + 1] = reader end
      out[r] = {total, 0, 0}
    else
      total = total or tonumber(redis.call('GET', reads_key) or '0')
      if not total then error({err = 'ERR read total is not an integer'}) end
      out[r] = {total, 0, 1}
    end
  end
  if new > 0 then
    redis.call('ZINCRBY', KEYS[1], new, id)
    redis.call('ZADD', log_key, redis.call('INCR', head_key), id)
    for d = 1, days do
      local count = day_reads[d]
      -- Only the article's first reads of the day can have created the day's ranking, so only
      -- they need to set its expiry.
      if count and tonumber(redis.call('ZINCRBY', KEYS[1 + d], count, id)) == count then
        redis.call('EXPIREAT', KEYS[1 + d], ARGV[3 + d])
      end
    end
    if #readers > 0 then redis.call('PFADD', readers_key, unpack(readers)) end
  end
  local unique = redis.call('PFCOUNT', readers_key)
  for r = first, first + n - 1 do out[r][2] = unique end
end

local first = 1
for a = 1, articles do
  local n = tonumber(ARGV[3 + days + 2 * a])
  local ok, err = pcall(record, a, first, n)
  if not ok then
    if type(err) == 'table' then err = err.err end
    for r = first, first + n - 1 do out[r] = {err = tostring(err)} end
  end
  first = first + n
end
return out
