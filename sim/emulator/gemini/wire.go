package gemini

import (
	"encoding/json"
	"strings"
)

// GenerateRequest is the body of generateContent and streamGenerateContent
// as google.golang.org/genai sends it (camelCase JSON). Fields the emulator
// does not interpret (safety settings, tools) are kept raw so the request
// log shows them.
type GenerateRequest struct {
	Contents          []Content         `json:"contents"`
	SystemInstruction *Content          `json:"systemInstruction,omitempty"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitempty"`
	SafetySettings    []json.RawMessage `json:"safetySettings,omitempty"`
	Tools             []json.RawMessage `json:"tools,omitempty"`
	ToolConfig        json.RawMessage   `json:"toolConfig,omitempty"`
}

// Content is one turn of a conversation (or the system instruction).
type Content struct {
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts,omitempty"`
}

// Part is one piece of a turn: text or inline data (media.go); other
// kinds (function calls, file data) are accepted and ignored.
type Part struct {
	Text       string `json:"text,omitempty"`
	Thought    bool   `json:"thought,omitempty"`
	InlineData *Blob  `json:"inlineData,omitempty"`
	// InlineDataSnake is the REST API's other spelling, inline_data.
	InlineDataSnake *Blob `json:"inline_data,omitempty"`
}

// GenerationConfig holds the generation parameters the emulator honours or
// validates. Unknown ones (thinkingConfig, seed, …) are accepted and ignored.
type GenerationConfig struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"topP,omitempty"`
	TopK             *float64 `json:"topK,omitempty"`
	CandidateCount   int      `json:"candidateCount,omitempty"`
	MaxOutputTokens  int      `json:"maxOutputTokens,omitempty"`
	StopSequences    []string `json:"stopSequences,omitempty"`
	ResponseMIMEType string   `json:"responseMimeType,omitempty"`
	// ResponseJSONSchema and ResponseSchema shape JSON output (media.go).
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ResponseSchema     json.RawMessage `json:"responseSchema,omitempty"`
}

// Text joins the text parts of c, one part per line, leaving out thoughts.
func (c *Content) Text() string {
	if c == nil {
		return ""
	}
	var texts []string
	for _, p := range c.Parts {
		if p.Text != "" && !p.Thought {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// SystemText returns the text of the system instruction.
func (r GenerateRequest) SystemText() string {
	return r.SystemInstruction.Text()
}

// LastUserText returns the text of the last user turn that has text: the
// question the model is asked to answer. A turn without a role counts as a
// user turn, as the API treats it.
func (r GenerateRequest) LastUserText() string {
	for i := len(r.Contents) - 1; i >= 0; i-- {
		c := r.Contents[i]
		if c.Role != "" && c.Role != roleUser {
			continue
		}
		if t := c.Text(); t != "" {
			return t
		}
	}
	return ""
}

const (
	roleUser  = "user"
	roleModel = "model"
)

// The response types below mirror the JSON of the Gemini API (v1beta) that
// genai decodes; they are unexported because callers use genai to read them.

type generateResponse struct {
	Candidates     []candidate     `json:"candidates,omitempty"`
	PromptFeedback *promptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  usageMetadata   `json:"usageMetadata"`
	ModelVersion   string          `json:"modelVersion"`
	ResponseID     string          `json:"responseId"`
}

type candidate struct {
	Content       *Content       `json:"content,omitempty"`
	FinishReason  string         `json:"finishReason,omitempty"`
	SafetyRatings []safetyRating `json:"safetyRatings,omitempty"`
	Index         int            `json:"index"`
}

type usageMetadata struct {
	PromptTokenCount     int `json:"promptTokenCount"`
	CandidatesTokenCount int `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount      int `json:"totalTokenCount"`
}

type embedRequest struct {
	Model                string   `json:"model,omitempty"`
	Content              *Content `json:"content"`
	TaskType             string   `json:"taskType,omitempty"`
	Title                string   `json:"title,omitempty"`
	OutputDimensionality int      `json:"outputDimensionality,omitempty"`
}

type batchEmbedRequest struct {
	Requests []embedRequest `json:"requests"`
}

type embedding struct {
	Values []float32 `json:"values"`
}

type countTokensRequest struct {
	Contents               []Content        `json:"contents,omitempty"`
	GenerateContentRequest *GenerateRequest `json:"generateContentRequest,omitempty"`
}

type modelInfo struct {
	Name                       string   `json:"name"`
	BaseModelID                string   `json:"baseModelId"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description"`
	InputTokenLimit            int      `json:"inputTokenLimit"`
	OutputTokenLimit           int      `json:"outputTokenLimit"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}
