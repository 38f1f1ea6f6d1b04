-- wrk script for bench/hotpath.sh: POST /v1/embeddings with one sentence per request, the eight benchmark
-- sentences in turn. Requests are formatted once in init(); request() only hands the next one out, so the
-- generator's own CPU stays small. Env: ATRIUM_API_KEY, HOTPATH_MODEL, HOTPATH_ENCODING (float|base64).
local sentences = {
  "The quick brown fox jumps over the lazy dog near the quiet riverbank.",
  "How do I reset my password if I no longer have access to my email?",
  "Atrium serves embedding models to many tenants with exact usage metering.",
  "The weather in Lisbon stays sunny and warm for most of the late summer.",
  "Quantum computers use qubits that can hold a superposition of two states.",
  "Please send the signed contract back to our legal team before Friday noon.",
  "A good night of sleep improves memory, mood and concentration the next day.",
  "The train to the airport leaves every twenty minutes from platform three.",
}
local requests = {}
local next_request = 1

function init(args)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("ATRIUM_API_KEY"),
  }
  local model = os.getenv("HOTPATH_MODEL") or "all-minilm-l6-v2"
  local encoding = os.getenv("HOTPATH_ENCODING") or "float"
  for i, sentence in ipairs(sentences) do
    local body = '{"model":"' .. model .. '","input":"' .. sentence .. '","encoding_format":"' .. encoding .. '"}'
    requests[i] = wrk.format("POST", "/v1/embeddings", headers, body)
  end
end

function request()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end
-- no response() callback: wrk then skips handing each answer to Lua; it still counts non-2xx answers itself
