// Package texts loads the bot's user-facing messages (configs/messages.ru.yaml
// by default; Russian) so they can be edited without code changes. Every key
// is required: a missing or broken one stops the role at start naming it.
package texts

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"text/template"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"marketingbot/configs"
)

// Texts are the messages. Fields hold Go templates ({{.Name}}).
type Texts struct {
	StartUnauthorized     string `yaml:"start_unauthorized"`
	SharePhoneButton      string `yaml:"share_phone_button"`
	AuthPrompt            string `yaml:"auth_prompt"`
	AuthCodeAccepted      string `yaml:"auth_code_accepted"`
	AuthCodeUnknown       string `yaml:"auth_code_unknown"`
	AuthForeignContact    string `yaml:"auth_foreign_contact"`
	AuthPhoneUnknown      string `yaml:"auth_phone_unknown"`
	AuthCodePhoneMismatch string `yaml:"auth_code_phone_mismatch"`
	AuthTooMany           string `yaml:"auth_too_many"`
	AuthSuccess           string `yaml:"auth_success"`
	AuthAlready           string `yaml:"auth_already"`
	SupportDefault        string `yaml:"support_default"`

	StartAuthorized      string `yaml:"start_authorized"`
	Help                 string `yaml:"help"`
	MenuAnalyticsButton  string `yaml:"menu_analytics_button"`
	MenuPromotionsButton string `yaml:"menu_promotions_button"`
	MenuOperatorButton   string `yaml:"menu_operator_button"`

	Escalated         string `yaml:"escalated"`
	EscalatedAlready  string `yaml:"escalated_already"`
	OperatorJoined    string `yaml:"operator_joined"`
	OperatorReply     string `yaml:"operator_reply"`
	Resolved          string `yaml:"resolved"`
	AIFallback        string `yaml:"ai_fallback"`
	Throttled         string `yaml:"throttled"`
	MediaUnsupported  string `yaml:"media_unsupported"`
	LocationUnsupport string `yaml:"location_unsupported"`
	EmptyText         string `yaml:"empty_text"`
	EditedPrefix      string `yaml:"edited_prefix"`
	ProcessingFailed  string `yaml:"processing_failed"`
	AlreadyAuthorized string `yaml:"already_authorized_contact"`
	// ButtonUnknown answers a button press whose data we never issued
	// (answerCallbackQuery: at most 200 characters).
	ButtonUnknown string `yaml:"button_unknown"`

	OperatorCard           string `yaml:"operator_card"`
	OperatorCardTaken      string `yaml:"operator_card_taken"`
	OperatorCardResolved   string `yaml:"operator_card_resolved"`
	OperatorTakeButton     string `yaml:"operator_take_button"`
	OperatorResolveButton  string `yaml:"operator_resolve_button"`
	OperatorUserMessage    string `yaml:"operator_user_message"`
	OperatorUserMedia      string `yaml:"operator_user_media"`
	OperatorDeliveryFailed string `yaml:"operator_delivery_failed"`
	OperatorNotEscalated   string `yaml:"operator_not_escalated"`
	OperatorBlockedReason  string `yaml:"operator_blocked_reason"`

	HistoryEscalated     string `yaml:"history_escalated"`
	HistoryTaken         string `yaml:"history_taken"`
	HistoryResolved      string `yaml:"history_resolved"`
	HistoryAIUnavailable string `yaml:"history_ai_unavailable"`
	HistoryContinued     string `yaml:"history_continued"`
	HistoryThrottled     string `yaml:"history_throttled"`

	MenuButtonText         string `yaml:"menu_button_text"`
	AnalyticsInvite        string `yaml:"analytics_invite"`
	AnalyticsOpenButton    string `yaml:"analytics_open_button"`
	AnalyticsResultHeader  string `yaml:"analytics_result_header"`
	AnalyticsReportCaption string `yaml:"analytics_report_caption"`
	AnalyticsError         string `yaml:"analytics_error"`
	AnalyticsNotFound      string `yaml:"analytics_not_found"`
	AnalyticsInvalidObject string `yaml:"analytics_invalid_object"`
	AnalyticsTimeout       string `yaml:"analytics_timeout"`
	AnalyticsFailed        string `yaml:"analytics_failed"`
	MiniAppUnauthorized    string `yaml:"miniapp_unauthorized"`
	MiniAppExpired         string `yaml:"miniapp_expired"`
	MiniAppNotPartner      string `yaml:"miniapp_not_partner"`
	MiniAppBadCode         string `yaml:"miniapp_bad_code"`
	MiniAppRateLimited     string `yaml:"miniapp_rate_limited"`
	MiniAppNotFound        string `yaml:"miniapp_not_found"`
	MiniAppUnavailable     string `yaml:"miniapp_unavailable"`
	MiniAppBadRequest      string `yaml:"miniapp_bad_request"`

	CommandStart     string `yaml:"command_start"`
	CommandHelp      string `yaml:"command_help"`
	CommandAnalytics string `yaml:"command_analytics"`
	CommandOperator  string `yaml:"command_operator"`

	PromoOpenButton    string `yaml:"promo_open_button"`
	PromoUsage         string `yaml:"promo_usage"`
	PromoNotFound      string `yaml:"promo_not_found"`
	PromoBadStatus     string `yaml:"promo_bad_status"`
	PromoDryRun        string `yaml:"promo_dry_run"`
	PromoConfirmButton string `yaml:"promo_confirm_button"`
	PromoCancelButton  string `yaml:"promo_cancel_button"`
	PromoStarted       string `yaml:"promo_started"`
	PromoDismissed     string `yaml:"promo_dismissed"`
	PromoFinished      string `yaml:"promo_finished"`
	PromoStopped       string `yaml:"promo_stopped"`
	PromoFailed        string `yaml:"promo_failed"`
	PromoRepeated      string `yaml:"promo_repeated"`
	PromoReasonEmpty   string `yaml:"promo_reason_empty"`

	// Telegram's limits and the AI's unusual answers.
	TrimmedMarker               string `yaml:"trimmed_marker"`
	AITruncatedNote             string `yaml:"ai_truncated_note"`
	AIBlocked                   string `yaml:"ai_blocked"`
	AIEmpty                     string `yaml:"ai_empty"`
	AIReasonEmpty               string `yaml:"ai_reason_empty"`
	AIReasonPromptBlocked       string `yaml:"ai_reason_prompt_blocked"`
	HistoryAITruncated          string `yaml:"history_ai_truncated"`
	HistoryAINoAnswer           string `yaml:"history_ai_no_answer"`
	HistoryUndelivered          string `yaml:"history_undelivered"`
	HistoryNotForwarded         string `yaml:"history_not_forwarded"`
	DeliveryReasonRejected      string `yaml:"delivery_reason_rejected"`
	DeliveryReasonChatNotFound  string `yaml:"delivery_reason_chat_not_found"`
	DeliveryReasonRepeatedFails string `yaml:"delivery_reason_repeated_failures"`

	// Media in (pkg/chat media*.go): defined replies and history lines.
	MediaTooBig           string            `yaml:"media_too_big"`
	MediaTooLong          string            `yaml:"media_too_long"`
	MediaTypeUnsupported  string            `yaml:"media_type_unsupported"`
	MediaDownloadFailed   string            `yaml:"media_download_failed"`
	MediaRejected         string            `yaml:"media_rejected"`
	MediaNotTranscribed   string            `yaml:"media_not_transcribed"`
	MediaCaption          string            `yaml:"media_caption"`
	MediaNotAccepted      string            `yaml:"media_not_accepted"`
	MediaReasonTooBig     string            `yaml:"media_reason_too_big"`
	MediaReasonTooLong    string            `yaml:"media_reason_too_long"`
	MediaReasonType       string            `yaml:"media_reason_type"`
	MediaReasonGone       string            `yaml:"media_reason_gone"`
	MediaReasonDownload   string            `yaml:"media_reason_download"`
	MediaReasonRejected   string            `yaml:"media_reason_rejected"`
	MediaReasonBlocked    string            `yaml:"media_reason_blocked"`
	HistoryMediaNoAnswer  string            `yaml:"history_media_no_answer"`
	OperatorUserMediaText string            `yaml:"operator_user_media_text"`
	MediaHistoryLabels    map[string]string `yaml:"media_history_labels"`
	// The partner's topic in a forum operators' group (issue 18).
	BackToAI             string `yaml:"back_to_ai"`
	HistoryBackToAI      string `yaml:"history_back_to_ai"`
	TopicResolved        string `yaml:"topic_resolved"`
	TopicBackToAI        string `yaml:"topic_back_to_ai"`
	TopicResolvedInSheet string `yaml:"topic_resolved_in_sheet"`
	// The partner's rating of a resolved appeal and the support lead's
	// /stats (issue 18, items 4 and 5).
	RatingQuestion         string `yaml:"rating_question"`
	RatingButton           string `yaml:"rating_button"`
	RatingThanks           string `yaml:"rating_thanks"`
	RatingCommentButton    string `yaml:"rating_comment_button"`
	RatingCommentPrompt    string `yaml:"rating_comment_prompt"`
	RatingCommentThanks    string `yaml:"rating_comment_thanks"`
	RatingLowOperators     string `yaml:"rating_low_operators"`
	RatingCommentOperators string `yaml:"rating_comment_operators"`
	StatsReport            string `yaml:"stats_report"`
	StatsNone              string `yaml:"stats_none"`
	StatsMinutes           string `yaml:"stats_minutes"`
	StatsHours             string `yaml:"stats_hours"`
	StatsPercent           string `yaml:"stats_percent"`
	StatsRating            string `yaml:"stats_rating"`
	// Working hours (issue 18): the away message, the card's mark, the
	// opening reminder; the day names of an opening time.
	HoursAway          string   `yaml:"hours_away"`
	HoursCardMark      string   `yaml:"hours_card_mark"`
	HoursAIAnswered    string   `yaml:"hours_ai_answered"`
	HoursReminder      string   `yaml:"hours_reminder"`
	HoursReminderLine  string   `yaml:"hours_reminder_line"`
	HoursToday         string   `yaml:"hours_today"`
	HoursTomorrow      string   `yaml:"hours_tomorrow"`
	HoursZone          string   `yaml:"hours_zone"`
	HoursOnWeekday     []string `yaml:"hours_on_weekday"`
	HoursMonthsOf      []string `yaml:"hours_months_of"`
	HoursWeekdaysShort []string `yaml:"hours_weekdays_short"`
	// Templates (canned answers, /t in the operators' group).
	TemplatesList    string `yaml:"templates_list"`
	TemplatesNone    string `yaml:"templates_none"`
	TemplateUnknown  string `yaml:"template_unknown"`
	TemplateSent     string `yaml:"template_sent"`
	TemplateUnfilled string `yaml:"template_unfilled"`

	MediaLabels map[string]string `yaml:"media_labels"`

	templates map[string]*template.Template
}

// maxCallbackAnswer is Telegram's limit on answerCallbackQuery's text.
const maxCallbackAnswer = 200

// Load reads path; "" means the built-in default (configs/messages.ru.yaml).
func Load(path string) (*Texts, error) {
	raw := configs.MessagesRU
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("texts: %w", err)
		}
		raw = b
	}
	return Parse(raw)
}

// Parse reads messages from YAML and checks every key.
func Parse(raw []byte) (*Texts, error) {
	var t Texts
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("texts: %w", err)
	}
	t.templates = map[string]*template.Template{}
	v := reflect.ValueOf(&t).Elem()
	typ := v.Type()
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if key == "" || f.Type.Kind() != reflect.String {
			continue
		}
		s := v.Field(i).String()
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("texts: %s is missing", key)
		}
		tpl, err := template.New(key).Option("missingkey=error").Parse(s)
		if err != nil {
			return nil, fmt.Errorf("texts: %s: %w", key, err)
		}
		t.templates[s] = tpl
	}
	if n := utf8.RuneCountInString(t.ButtonUnknown); n > maxCallbackAnswer {
		return nil, fmt.Errorf("texts: button_unknown has %d characters; Telegram shows at most %d", n, maxCallbackAnswer)
	}
	for _, k := range []string{"photo", "video", "voice", "document", "sticker", "location", "contact", "other"} {
		if t.MediaLabels[k] == "" {
			return nil, fmt.Errorf("texts: media_labels.%s is missing", k)
		}
	}
	for _, k := range []string{"photo", "voice", "audio", "video_note", "document"} {
		if t.MediaHistoryLabels[k] == "" {
			return nil, fmt.Errorf("texts: media_history_labels.%s is missing", k)
		}
		tpl, err := template.New(k).Option("missingkey=error").Parse(t.MediaHistoryLabels[k])
		if err != nil {
			return nil, fmt.Errorf("texts: media_history_labels.%s: %w", k, err)
		}
		t.templates[t.MediaHistoryLabels[k]] = tpl
	}
	if err := t.checkHours(); err != nil {
		return nil, err
	}
	return &t, nil
}

// checkHours: the day and month names an opening time is written with.
func (t *Texts) checkHours() error {
	for _, l := range []struct {
		key  string
		list []string
		n    int
	}{{"hours_on_weekday", t.HoursOnWeekday, 7}, {"hours_months_of", t.HoursMonthsOf, 12}, {"hours_weekdays_short", t.HoursWeekdaysShort, 7}} {
		if len(l.list) != l.n {
			return fmt.Errorf("texts: %s has %d names; expected %d", l.key, len(l.list), l.n)
		}
	}
	return nil
}

// Render fills a message's placeholders. A text without placeholders is
// returned as is; a failing template (wrong field) returns the raw text so
// the user still gets something readable.
func (t *Texts) Render(msg string, data any) string {
	if !strings.Contains(msg, "{{") {
		return msg
	}
	tpl := t.templates[msg]
	if tpl == nil {
		return msg
	}
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		return msg
	}
	return b.String()
}

// MediaLabel names a voice note, audio, video note, photo or document for
// the history and relays (media_history_labels; no brackets); data has
// Duration ("0:42") and Name (the file's name, may be empty).
func (t *Texts) MediaLabel(kind string, data map[string]any) string {
	if s := t.MediaHistoryLabels[kind]; s != "" {
		return strings.TrimSpace(t.Render(s, data))
	}
	return strings.Trim(t.Media(kind), "[]")
}

// Media returns the placeholder for a kind of non-text message.
func (t *Texts) Media(kind string) string {
	if s := t.MediaLabels[kind]; s != "" {
		return s
	}
	return t.MediaLabels["other"]
}
