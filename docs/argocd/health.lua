-- Argo CD health check for sso.stytch-operator.dev/SamlConnection.
--
-- Install it in the argocd-cm ConfigMap:
--   data:
--     resource.customizations.health.sso.stytch-operator.dev_SamlConnection: |
--       <this file>
--
-- Conditions written by the operator: Ready, Active, Synced, Stalled, CertificateExpiringSoon.
-- Failure is tested before success:
--   status older than the spec (observedGeneration < generation) -> Progressing
--   Stalled=True (a permanent error waiting for a change)         -> Degraded
--   Ready=True                                                     -> Healthy
--   Synced=False with reason Suspended (spec.suspend)              -> Suspended
--   anything else (creating, pending IdP details, retrying)        -> Progressing
local hs = { status = "Progressing", message = "Waiting for the operator to reconcile" }

local function condition(conditions, type_)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type_ then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    if text ~= "" then
      text = text .. ": " .. c.message
    else
      text = c.message
    end
  end
  if text == "" then
    return fallback
  end
  return text
end

if obj.status == nil then
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local conditions = obj.status.conditions
local stalled = condition(conditions, "Stalled")
local ready = condition(conditions, "Ready")
local synced = condition(conditions, "Synced")

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if synced ~= nil and synced.status == "False" and synced.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(synced, "Suspended")
  return hs
end

if ready ~= nil then
  hs.message = describe(ready, hs.message)
elseif synced ~= nil then
  hs.message = describe(synced, hs.message)
end
return hs
