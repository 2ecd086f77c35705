-- Reads the exact `postgres.up` string of Kong migration modules, the way Kong's runner
-- sees it after `require`, and reports whether `postgres.teardown` / `postgres.up_f` exist.
-- Kong's modules are loaded from a source tree extracted from the git mirror; only light
-- stubs for runtime libraries (ngx, uuid, cassandra, openssl, ...) are provided here.
--
-- usage: luajit extract_up.lua <src_root> <namespace> <out_dir> <name>...
--   src_root   dir containing kong/... (a `git archive` of the tag or of the plugin rock)
--   namespace  e.g. kong.db.migrations.core or kong.plugins.acl.migrations
-- writes <out_dir>/<name>.up.sql (postgres.up with leading/trailing whitespace stripped;
-- empty file for an empty up) and prints one line per migration:
--   <name> teardown=<yes|no> up_f=<yes|no> up_bytes=<n>
local src, ns, out = arg[1], arg[2], arg[3]
package.path = src .. "/?.lua;" .. src .. "/?/init.lua;" .. package.path

-- Run-time generated UUIDs (default workspace id, cluster_id) become a marker that the
-- caller replaces with an SQL expression.
local UUID_MARK = "__KONG_GENERATED_UUID_V4__"

local function any()  -- a table that answers any field / call with itself
  local t = {}
  setmetatable(t, { __index = function() return t end, __call = function() return t end })
  return t
end

_G.ngx = setmetatable({
  null = setmetatable({}, { __tostring = function() return "null" end }),
  log = function() end, ERR = 4, WARN = 5, NOTICE = 6, INFO = 7, DEBUG = 8,
  time = os.time, now = os.time, update_time = function() end,
  re = any(), config = { subsystem = "http" }, worker = any(), shared = {},
}, { __index = function() return any() end })

package.preload["resty.jit-uuid"] = function()
  return { generate_v4 = function() return UUID_MARK end, seed = function() end,
           is_valid = function() return true end }
end
package.preload["kong.tools.utils"] = function()
  return setmetatable({ uuid = function() return UUID_MARK end },
                      { __index = function() return function() end end })
end
for _, m in ipairs({ "cassandra", "resty.openssl.x509", "resty.string", "cjson", "cjson.safe",
                     "pgmoon.json", "kong.cmd.utils.log", "pl.stringx", "pl.tablex" }) do
  package.preload[m] = function() return any() end
end

local function strip(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

for i = 4, #arg do
  local name = arg[i]
  local mod = require(ns .. "." .. name)
  local pg = assert(mod.postgres, name .. ": no postgres strategy")
  local up = pg.up or ""
  assert(type(up) == "string", name .. ": postgres.up is not a string")
  local f = assert(io.open(out .. "/" .. name .. ".up.sql", "wb"))
  local body = strip(up)
  f:write(body)
  if #body > 0 then f:write("\n") end
  f:close()
  print(string.format("%s teardown=%s up_f=%s up_bytes=%d", name,
        pg.teardown and "yes" or "no", pg.up_f and "yes" or "no", #body))
end
