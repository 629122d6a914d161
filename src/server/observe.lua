-- One request of one identity, applied atomically in the shared store: the same steps as
-- `Correlator::observe` (src/engine/correlate.rs), on the store's own clock so that every
-- replica agrees on time.
--
-- KEYS[1]  the identity's key (prefix and a hash of the identity: bounded size)
-- ARGV[1]  window in ms            ARGV[2]  duplicate window in ms
-- ARGV[3]  distinct techniques that make a burst
-- ARGV[4]  fingerprints kept       ARGV[5]  techniques kept (the value's cap)
-- ARGV[6]  the request's fingerprint (hex)
-- ARGV[7..] the request's counted findings: technique, rule, technique, rule...
--
-- The value: {"s": [[technique, rule, at_ms]...] in first-seen order,
--             "r": [[fingerprint, at_ms]...] oldest first}, expiring one window after the
-- identity's last request.
-- Returns {"duplicate"}, {"counted"}, or {"burst", technique, rule, ...} in first-seen order.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local duplicate_window = tonumber(ARGV[2])
local distinct = tonumber(ARGV[3])
local recent_cap = tonumber(ARGV[4])
local seen_cap = tonumber(ARGV[5])
local fingerprint = ARGV[6]

local history = {}
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == 'table' then history = decoded end
end

local seen = {}
for _, s in ipairs(history.s or {}) do
  if type(s) == 'table' and tonumber(s[3]) and now - s[3] <= window then seen[#seen + 1] = s end
end
local recent = {}
local duplicate = false
for _, r in ipairs(history.r or {}) do
  if type(r) == 'table' and tonumber(r[2]) and now - r[2] <= duplicate_window then
    recent[#recent + 1] = r
    if r[1] == fingerprint then duplicate = true end
  end
end

if not duplicate then
  recent[#recent + 1] = {fingerprint, now}
  while #recent > recent_cap do table.remove(recent, 1) end
  for i = 7, #ARGV - 1, 2 do
    local technique, rule = ARGV[i], ARGV[i + 1]
    local known = false
    for _, s in ipairs(seen) do
      if s[1] == technique then
        s[2] = rule
        s[3] = now
        known = true
      end
    end
    if not known and #seen < seen_cap then seen[#seen + 1] = {technique, rule, now} end
  end
end

redis.call('SET', KEYS[1], cjson.encode({s = seen, r = recent}), 'PX', math.max(window, duplicate_window, 1))

if duplicate then return {'duplicate'} end
if #seen >= distinct then
  local burst = {'burst'}
  for _, s in ipairs(seen) do
    burst[#burst + 1] = s[1]
    burst[#burst + 1] = s[2]
  end
  return burst
end
return {'counted'}
