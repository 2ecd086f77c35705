-- Runs a Kong migration's `postgres.teardown(connector, helpers)` against a recording fake
-- connector that stands for an EMPTY database: every iterate()/SELECT yields no rows, and
-- every connector:query(sql) is recorded. What it prints is exactly the list of query
-- strings Kong sends on an empty database, one block per connector:query() call:
--   -- >>> query <n>
--   <sql, verbatim>
-- Row loops therefore contribute nothing; their per-row statements are described by hand in
-- the .teardown.sql header.
--
-- usage: luajit record_teardown.lua <src_root> <namespace> <name>
local src, ns, name = arg[1], arg[2], arg[3]
package.path = src .. "/?.lua;" .. src .. "/?/init.lua;" .. package.path

local function any()
  local t = {}
  setmetatable(t, { __index = function() return t end, __call = function() return t end })
  return t
end
_G.ngx = setmetatable({ null = {}, log = function() end, ERR = 4, WARN = 5, DEBUG = 8,
                        time = os.time, now = os.time, re = any() },
                      { __index = function() return any() end })
package.preload["resty.jit-uuid"] = function()
  return { generate_v4 = function() return "__KONG_GENERATED_UUID_V4__" end, seed = function() end }
end
package.preload["kong.tools.utils"] = function()
  return setmetatable({ uuid = function() return "__KONG_GENERATED_UUID_V4__" end },
                      { __index = function() return function() end end })
end
for _, m in ipairs({ "cassandra", "resty.openssl.x509", "resty.string", "cjson", "cjson.safe",
                     "pgmoon.json", "kong.cmd.utils.log" }) do
  package.preload[m] = function() return any() end
end

local n = 0
local conn = {}
function conn:connect_migrations() return true end
function conn:get_stored_connection() return conn end
function conn:escape_literal(s) return "'" .. tostring(s):gsub("'", "''") .. "'" end
function conn:escape_identifier(s) return '"' .. tostring(s):gsub('"', '""') .. '"' end
function conn:iterate(sql)
  io.stderr:write("iterate (no rows on an empty db): " .. sql:gsub("%s+", " ") .. "\n")
  return function() return nil end
end
function conn:query(sql)
  if sql:match("^%s*[Ss][Ee][Ll][Ee][Cc][Tt]") then
    io.stderr:write("select (no rows on an empty db): " .. sql:gsub("%s+", " ") .. "\n")
    return {}
  end
  n = n + 1
  io.write(string.format("-- >>> query %d\n%s\n", n, sql))
  return {}
end

local mod = require(ns .. "." .. name)
local td = assert(mod.postgres and mod.postgres.teardown, "no postgres teardown")
local ok, res, err = xpcall(td, debug.traceback, conn, any())
assert(ok, res)
assert(not err, err)
io.stderr:write(string.format("%d queries recorded\n", n))
