-- POST a form body with a fresh Idempotency-Key (and optionally a fresh email) per request.
-- Usage: wrk -s post.lua URL -- "<body with {n} where a unique number goes>"
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  template = args[1]
  thread_id = tid
  math.randomseed(os.time() + tid * 7919)
end

function request()
  counter = counter + 1
  local n = string.format("%02d-%08d-%09d", thread_id, counter, math.random(1, 999999999))
  local body = template:gsub("{n}", n)
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["Sec-Fetch-Site"] = "same-origin",
    ["Idempotency-Key"] = "bench-" .. n,
  }
  return wrk.format("POST", nil, headers, body)
end

