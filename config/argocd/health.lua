-- Argo CD health check for kubemcp.io/McpEndpoint.
--
-- Healthy     Ready=True and status.observedGeneration == metadata.generation
-- Progressing no status yet, status behind the spec (observedGeneration),
--             Ready missing/Unknown, or Ready=False while the server pods come up
--             (reason NotAvailable)
-- Degraded    Ready=False for any other reason: the spec was refused
--             (ScopeNotAllowed, AccessNotAllowed, NoEffectiveTools, InvalidSpec)
--             or cannot be served (TokenSecretNotFound, ...); the message is the
--             condition's, which says how to fix it.
hs = {}

-- Reasons of Ready=False that only mean "not there yet".
local transient = {
  NotAvailable = true,
  Progressing = true,
  Reconciling = true,
  Pending = true,
}

local function condition(status, type)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function message(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    if c.reason ~= nil and c.reason ~= "" then
      return c.reason .. ": " .. c.message
    end
    return c.message
  end
  return fallback
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation

if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the endpoint"
  return hs
end

if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(status, "Ready")
if ready == nil or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = message(ready, "Waiting for the Ready condition")
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  if status.url ~= nil and status.url ~= "" then
    hs.message = "Serving at " .. status.url
  else
    hs.message = message(ready, "Ready")
  end
  return hs
end

if transient[ready.reason] then
  hs.status = "Progressing"
else
  hs.status = "Degraded"
end
hs.message = message(ready, "Not ready")
return hs
