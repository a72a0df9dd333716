-- Runs health.lua against every case of health_test.yaml, the way Argo CD does
-- (a global `obj`, the script's return value is the health status).
--
--   lua5.1 config/argocd/test.lua        (Argo CD embeds gopher-lua: Lua 5.1)
--
-- Exit status 0 when every case matches. No dependency beyond the interpreter:
-- the YAML files are read by the small parser below, which knows the subset
-- they are written in (block mappings and sequences, "- key: value" items,
-- plain and quoted scalars, flow lists of scalars, comments). Keep the test
-- data inside that subset (one-line scalars).

local dir = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."

local function read(path)
  local f, err = io.open(path, "r")
  if not f then error("cannot open " .. path .. ": " .. tostring(err)) end
  local s = f:read("*a")
  f:close()
  return s
end

-- ---- a YAML subset ---------------------------------------------------------

-- Removes a comment (a '#' at the start or after a space, outside quotes).
local function strip_comment(s)
  local quote, prev = nil, " "
  for i = 1, #s do
    local c = s:sub(i, i)
    if quote then
      if c == "\\" and quote == '"' then
        -- skip the escaped character
        prev = c
      elseif c == quote and prev ~= "\\" then
        quote = nil
      end
    elseif c == '"' or c == "'" then
      quote = c
    elseif c == "#" and prev:match("%s") then
      return s:sub(1, i - 1)
    end
    prev = (prev == "\\" and c == "\\") and " " or c
  end
  return s
end

local function lines_of(text)
  local out = {}
  for raw in (text .. "\n"):gmatch("(.-)\r?\n") do
    local line = strip_comment(raw):gsub("%s+$", "")
    if line ~= "" and line ~= "---" then
      local indent = #line:match("^( *)")
      out[#out + 1] = { indent = indent, text = line:sub(indent + 1) }
    end
  end
  return out
end

local scalar

local function unquote_double(s)
  local map = { n = "\n", t = "\t", r = "\r", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
  return (s:gsub("\\(.)", function(c) return map[c] or ("\\" .. c) end))
end

-- Splits a flow list body on commas outside quotes.
local function split_flow(body)
  local items, cur, quote = {}, "", nil
  for i = 1, #body do
    local c = body:sub(i, i)
    if quote then
      if c == quote and body:sub(i - 1, i - 1) ~= "\\" then quote = nil end
      cur = cur .. c
    elseif c == '"' or c == "'" then
      quote = c
      cur = cur .. c
    elseif c == "," then
      items[#items + 1] = cur
      cur = ""
    else
      cur = cur .. c
    end
  end
  if cur:match("%S") then items[#items + 1] = cur end
  return items
end

scalar = function(s)
  s = s:gsub("^%s+", ""):gsub("%s+$", "")
  if s:sub(1, 1) == '"' and s:sub(-1) == '"' and #s >= 2 then
    return unquote_double(s:sub(2, -2))
  elseif s:sub(1, 1) == "'" and s:sub(-1) == "'" and #s >= 2 then
    return (s:sub(2, -2):gsub("''", "'"))
  elseif s:sub(1, 1) == "[" and s:sub(-1) == "]" then
    local list = {}
    for _, item in ipairs(split_flow(s:sub(2, -2))) do list[#list + 1] = scalar(item) end
    return list
  elseif s == "{}" then
    return {}
  elseif s == "null" or s == "~" or s == "" then
    return nil
  elseif s == "true" then
    return true
  elseif s == "false" then
    return false
  elseif s:match("^-?%d+$") or s:match("^-?%d+%.%d+$") then
    return tonumber(s)
  end
  return s
end

-- "key: value" / "key:" -> key, rest (rest nil for "key:"); nil if not a pair.
local function pair(text)
  local key, rest
  if text:sub(1, 1) == '"' or text:sub(1, 1) == "'" then
    local q = text:sub(1, 1)
    local close = text:find(q, 2, true)
    if not close then return nil end
    key, rest = text:sub(2, close - 1), text:sub(close + 1)
  else
    key, rest = text:match("^([^:%s][^:]-):(.*)$")
    if not key then return nil end
    rest = ":" .. rest
  end
  if rest == ":" then return key, nil end
  local value = rest:match("^:%s+(.*)$")
  if value == nil then return nil end
  return key, value
end

local function is_item(text) return text == "-" or text:sub(1, 2) == "- " end

local parse_block

local function parse_seq(ls, i, indent)
  local list = {}
  while ls[i] and ls[i].indent == indent and is_item(ls[i].text) do
    local rest = ls[i].text:sub(3):gsub("^%s+", "")
    if rest == "" then
      if ls[i + 1] and ls[i + 1].indent > indent then
        list[#list + 1], i = parse_block(ls, i + 1, ls[i + 1].indent)
      else
        list[#list + 1], i = nil, i + 1
      end
    elseif pair(rest) then
      -- "- key: value": the item is a mapping whose keys sit at indent + 2.
      ls[i] = { indent = indent + 2, text = rest }
      list[#list + 1], i = parse_block(ls, i, indent + 2)
    else
      list[#list + 1], i = scalar(rest), i + 1
    end
  end
  return list, i
end

local function parse_map(ls, i, indent)
  local map = {}
  while ls[i] and ls[i].indent == indent and not is_item(ls[i].text) do
    local key, value = pair(ls[i].text)
    if key == nil then error("test.lua YAML subset: cannot parse line: " .. ls[i].text) end
    if value ~= nil then
      map[key], i = scalar(value), i + 1
    else
      local nxt = ls[i + 1]
      if nxt and (nxt.indent > indent or (nxt.indent == indent and is_item(nxt.text))) then
        map[key], i = parse_block(ls, i + 1, nxt.indent)
      else
        map[key], i = nil, i + 1
      end
    end
  end
  return map, i
end

parse_block = function(ls, i, indent)
  if is_item(ls[i].text) then return parse_seq(ls, i, indent) end
  return parse_map(ls, i, indent)
end

local function parse_yaml(text)
  local ls = lines_of(text)
  if #ls == 0 then return nil end
  local value, i = parse_block(ls, 1, ls[1].indent)
  if ls[i] then error("test.lua YAML subset: unexpected line: " .. ls[i].text) end
  return value
end

-- ---- the test run ------------------------------------------------------------

local script = dir .. "/health.lua"
local spec = parse_yaml(read(dir .. "/health_test.yaml"))
local failures, count = 0, 0
for _, case in ipairs(spec.tests) do
  count = count + 1
  obj = parse_yaml(read(dir .. "/" .. case.inputPath))
  hs = nil
  local chunk = assert(loadfile(script))
  local ok, got = pcall(chunk)
  local want = case.healthStatus
  if not ok then
    failures = failures + 1
    print("FAIL " .. case.inputPath .. ": health.lua raised: " .. tostring(got))
  elseif type(got) ~= "table" then
    failures = failures + 1
    print("FAIL " .. case.inputPath .. ": health.lua returned " .. type(got))
  elseif got.status ~= want.status or (want.message ~= nil and got.message ~= want.message) then
    failures = failures + 1
    print("FAIL " .. case.inputPath)
    print("  want: " .. tostring(want.status) .. " / " .. tostring(want.message))
    print("  got:  " .. tostring(got.status) .. " / " .. tostring(got.message))
  else
    print("ok   " .. case.inputPath .. " -> " .. got.status)
  end
end
print(string.format("%d case(s), %d failure(s)", count, failures))
if failures > 0 or count == 0 then os.exit(1) end
