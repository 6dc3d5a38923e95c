// Package gemini emulates the Gemini API (generativelanguage.googleapis.com,
// v1beta) well enough that the unmodified google.golang.org/genai client,
// pointed at it with HTTPOptions.BaseURL, works end to end in tests and the
// local sandbox without touching the internet.
//
// # Wire protocol
//
// Paths are /{v1beta|v1|v1alpha}/models/{model}:{action}; the API key comes
// in the x-goog-api-key header (what genai sends) or the key query
// parameter.
//
//	POST :generateContent                one JSON GenerateContentResponse
//	POST :streamGenerateContent?alt=sse  "data: {…}\r\n\r\n" events of about 60
//	                                     characters of text each; every one has
//	                                     the prompt's tokens, the last also the
//	                                     answer's and the finishReason; the
//	                                     latency is spread over them (without
//	                                     alt=sse: one JSON array of the chunks)
//	POST :embedContent                   {"embedding":{"values":[…]}}
//	POST :batchEmbedContents             {"embeddings":[{"values":[…]}]}
//	                                     (genai's EmbedContent uses this one)
//	POST :countTokens                    {"totalTokens":N}
//	GET  /v1beta/models[?pageSize&pageToken], /v1beta/models/{model}
//
// Answers come from Respond, a deterministic offline responder (see its
// documentation for the rules), and embeddings from Embed. Token counts are
// estimated at four characters a token. generationConfig is validated
// (temperature, topP, candidateCount, stopSequences) and partly honoured:
// candidateCount repeats the answer, stopSequences cut it, maxOutputTokens
// truncates it with finishReason MAX_TOKENS, and responseMimeType
// "application/json" returns the answer as a JSON string — or, with a
// responseJsonSchema/responseSchema of type object, as that object (see
// media.go). Inline data parts (audio, images, video, PDFs) are validated
// for MIME type, content and size as Google does, and what they "contain"
// is told by the test (RegisterMedia, keyed by SHA-256). Safety settings
// and tools are accepted and ignored. Only the camelCase JSON field names
// genai sends are understood.
//
// Errors use Google's shape {"error":{"code","message","status","details"}}
// so genai returns them as genai.APIError:
//
//	no key                 403 PERMISSION_DENIED
//	wrong key              400 INVALID_ARGUMENT "API key not valid. Please pass a valid API key."
//	unknown model, or      404 NOT_FOUND "models/x is not found for API version v1beta,
//	  wrong kind of model        or is not supported for generateContent."
//	                       (models.get: "models/x is not found for API version v1beta.")
//	malformed request      400 INVALID_ARGUMENT
//	injected 429           RESOURCE_EXHAUSTED with QuotaFailure, Help and
//	                       google.rpc.RetryInfo{retryDelay:"1s"} details
//	injected 500/503/504   INTERNAL / UNAVAILABLE "The model is overloaded.
//	                       Please try again later." / DEADLINE_EXCEEDED
//
// The API knows only the models of Options.Models, or DefaultModels (the
// current models; shut down names such as gemini-1.5-pro or gemini-2.5-pro
// are 404, as on Google). SetModels changes them at run time, as when
// Google shuts a model down. Model names containing "embedding" only embed;
// other models only generate (countTokens works for both), like the real
// API.
//
// # Control API
//
// Under /_emulator/, JSON, permissive CORS (as is the Gemini API itself),
// no API key:
//
//	GET    /_emulator/requests[?limit=N][&model=x][&method=m]
//	       log of API calls, oldest first, newest last (last RequestLogLimit):
//	       [{"id","time","model","method","status","request":<raw body>,
//	         "response_text","error","duration_ms"}]
//	       Status 499 means the client went away before the answer.
//	GET    /_emulator/stats
//	       {"requests","in_flight","by_status":{"200":N,"429":N},
//	        "by_method":{"generateContent":N},"by_model":{…}}
//	POST   /_emulator/faults
//	       {"status":429|500|503|504,"count":N,"duration_ms":D,
//	        "retry_delay_s":S,"models":[…],"methods":[…]} → 201 {"id"}
//	       The next N matching calls fail (or all for D ms; both: whichever
//	       ends first; neither: until cleared). retry_delay_s (default 1) is
//	       the RetryInfo delay of a 429. Faults hit calls on a model, not
//	       model listing, and are checked after request validation.
//	       With "after_chunks":N the fault hits streams (alt=sse) mid-way:
//	       200, N chunks (all but the last of a shorter answer), then an
//	       error event data: {"error":{…}} with the status — or, with
//	       "drop":true (no status needed), the connection is cut.
//	GET    /_emulator/faults     rules still in force
//	DELETE /_emulator/faults     remove all rules → 204
//	POST   /_emulator/outcomes
//	       {"finish_reason":"MAX_TOKENS"|"SAFETY"|"RECITATION"|"OTHER"|
//	         "PROHIBITED_CONTENT"|"BLOCKLIST"|"SPII"|"LANGUAGE"|"STOP",
//	        "empty":bool,"block_reason":"SAFETY"|…,"count":N,"models":[…]}
//	       → 201 {"id"}. The next N matching generate calls (0: until
//	       cleared) end that way, with HTTP 200 as the API does: MAX_TOKENS
//	       with the first half of the answer cut mid-sentence; SAFETY,
//	       PROHIBITED_CONTENT, BLOCKLIST, SPII with a candidate without
//	       content; RECITATION, OTHER, LANGUAGE with the beginning of the
//	       answer; "empty" with no text (STOP or MAX_TOKENS); block_reason
//	       with no candidates and promptFeedback.blockReason. See Outcome.
//	GET    /_emulator/outcomes   rules still in force
//	DELETE /_emulator/outcomes   remove all → 204 (reset removes them too;
//	       Go: AddOutcome, Outcomes, ClearOutcomes)
//	POST   /_emulator/latency    {"ms":800,"jitter_ms":100} → added before
//	       each generate call (not embeddings); uniformly random in
//	       [ms-jitter_ms, ms+jitter_ms]. A cancelled client ends the wait.
//	GET    /_emulator/latency    current setting
//	GET    /_emulator/models     {"models":[…]} the models the API knows
//	PUT    /_emulator/models     {"models":[…]} replace them ([] = DefaultModels)
//	POST   /_emulator/media      {"sha256": hex | "data": base64, "text"} → {"sha256"}:
//	       what those bytes contain (a transcript, a description); the
//	       responder reads it as if the model had heard or seen it
//	GET    /_emulator/media      {"<sha256>": "text", …}
//	POST   /_emulator/reset      clear log, stats, faults and the media
//	       registry; latency and models back to Options → 204
//
// The same operations are methods on Server (Requests, Stats, InjectFault,
// ClearFaults, Faults, SetLatency, SetModels, Models, Reset) for tests in
// the same process.
//
// The server is safe for concurrent use and never serializes calls: each
// waits out its own latency, so hundreds of concurrent slow calls overlap.
package gemini
