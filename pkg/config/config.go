// Package config loads MarketingBot's configuration: a YAML file
// (configs/config.example.yaml documents every key), environment overrides
// named MARKETINGBOT_<SECTION>_<KEY>, and secrets from a .env file beside the
// config (a deployment keeps them in shared/.env, see deploy/lib.sh). Precedence, highest first:
// process environment, .env file, config file, built-in defaults.
//
// Validation is per role: a missing or malformed setting is reported as one
// line that names the key and what is expected, and the role exits with code 2.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/spf13/cast"
	"github.com/spf13/viper"

	"marketingbot/pkg/hours"
)

// EnvPrefix prefixes every environment override.
const EnvPrefix = "MARKETINGBOT"

// Role names the process a configuration is validated for.
type Role string

const (
	RoleBot     Role = "bot"
	RoleWorker  Role = "worker"
	RolePoller  Role = "poller"
	RoleSandbox Role = "sandbox" // everything wired in one process: validated like worker+bot
)

// Config is the whole configuration. Field tags name the YAML/env keys.
type Config struct {
	App       App       `key:"app"`
	Log       Log       `key:"log"`
	Telegram  Telegram  `key:"telegram"`
	Redis     Redis     `key:"redis"`
	Sheets    Sheets    `key:"sheets"`
	Gemini    Gemini    `key:"gemini"`
	HTTP      HTTP      `key:"http"`
	Admin     Admin     `key:"admin"`
	Worker    Worker    `key:"worker"`
	Poller    Poller    `key:"poller"`
	Chat      Chat      `key:"chat"`
	Analytics Analytics `key:"analytics"`
	Promo     Promo     `key:"promo"`
	Media     Media     `key:"media"`
	Hours     Hours     `key:"hours"`

	// File is the config file that was read ("" when none); Dir is its folder,
	// against which relative paths in the config are resolved.
	File string `key:"-"`
	Dir  string `key:"-"`
}

type App struct {
	Timezone     string `key:"timezone"`      // IANA name; times written to the sheet use it
	MessagesFile string `key:"messages_file"` // user-facing texts (Russian by default)
	EnvFile      string `key:"env_file"`      // secrets; default ".env" beside the config
}

type Log struct {
	Level  string `key:"level"`  // debug, info, warn, error
	Format string `key:"format"` // json or text
}

type Telegram struct {
	Token           string        `key:"token" secret:"true"`
	APIURL          string        `key:"api_url"`
	WebhookURL      string        `key:"webhook_url"` // empty: long polling
	WebhookSecret   string        `key:"webhook_secret" secret:"true"`
	WebhookPath     string        `key:"webhook_path"`
	PollTimeout     time.Duration `key:"poll_timeout"`
	OperatorsChatID int64         `key:"operators_chat_id"`
	MiniAppURL      string        `key:"mini_app_url"`
	GlobalPerSecond float64       `key:"global_per_second"`
	ChatPerSecond   float64       `key:"chat_per_second"`
	ChatBurst       int           `key:"chat_burst"`
	GroupPerMinute  int           `key:"group_per_minute"`
	RequestTimeout  time.Duration `key:"request_timeout"`
}

type Redis struct {
	URL       string   `key:"url" secret:"true"` // may carry a password
	Sentinel  Sentinel `key:"sentinel"`
	KeyPrefix string   `key:"key_prefix"`
}

type Sentinel struct {
	Master   string   `key:"master"`
	Addrs    []string `key:"addrs"`
	Password string   `key:"password" secret:"true"`
	DB       int      `key:"db"`
}

type Sheets struct {
	SpreadsheetID   string        `key:"spreadsheet_id"`
	CredentialsFile string        `key:"credentials_file"`
	Endpoint        string        `key:"endpoint"` // emulator URL; unauthenticated unless credentials_file is set too
	Batching        bool          `key:"batching"`
	FleetCoalescing bool          `key:"fleet_coalescing"` // false: each process coalesces only its own calls
	FlushInterval   time.Duration `key:"flush_interval"`
	MaxBatch        int           `key:"max_batch"`
	ReadsPerMinute  int           `key:"reads_per_minute"`
	WritesPerMinute int           `key:"writes_per_minute"`
	QuotaWindow     time.Duration `key:"quota_window"`
	RequestTimeout  time.Duration `key:"request_timeout"`
	AuthCacheTTL    time.Duration `key:"auth_cache_ttl"`
	KnowledgeTTL    time.Duration `key:"knowledge_cache_ttl"`
	ListingsTTL     time.Duration `key:"listings_cache_ttl"`
	HeaderTTL       time.Duration `key:"header_cache_ttl"` // how long a header row is trusted for writes
	Titles          SheetTitles   `key:"titles"`
	Headers         SheetHeaders  `key:"headers"` // the header of every column, by sheet and field
}

type SheetTitles struct {
	Auth       string `key:"auth"`
	Appeals    string `key:"appeals"`
	Queue      string `key:"queue"`
	Listings   string `key:"listings"`
	Promotions string `key:"promotions"`
	Knowledge  string `key:"knowledge"`
	// Stats is the support lead's sheet: one row per day (issue 18).
	Stats     string `key:"stats"`
	Templates string `key:"templates"`
	Holidays  string `key:"holidays"`
}

type Gemini struct {
	APIKey             string        `key:"api_key" secret:"true"`
	BaseURL            string        `key:"base_url"`
	ChatModel          string        `key:"chat_model"`
	AnalysisModel      string        `key:"analysis_model"`
	Timeout            time.Duration `key:"timeout"`
	RetryBudget        time.Duration `key:"retry_budget"`
	SystemPromptFile   string        `key:"system_prompt_file"`
	HistoryBudget      int           `key:"history_budget_chars"`
	KnowledgeTopK      int           `key:"knowledge_top_k"`
	Temperature        float64       `key:"temperature"`
	MaxOutputTokens    int           `key:"max_output_tokens"`
	PolishAnalytics    bool          `key:"polish_analytics"`
	EscalationKeywords []string      `key:"escalation_keywords"`
	// Stream shows the answer in private chats while it is written
	// (streamGenerateContent + Telegram's sendMessageDraft); the final
	// message is the same either way. The issue calls it ai.stream.
	Stream bool `key:"stream"`
	// DraftInterval is the least time between two draft updates of one answer.
	DraftInterval time.Duration `key:"draft_interval"`
}

type HTTP struct {
	BotAddr    string `key:"bot_addr"`
	WorkerAddr string `key:"worker_addr"`
	PollerAddr string `key:"poller_addr"`
	PublicURL  string `key:"public_url"` // how users reach the bot's HTTP server (Mini App, PDF links)
}

type Admin struct {
	Username string `key:"username"`
	Password string `key:"password" secret:"true"`
	ReadOnly bool   `key:"read_only"`
}

type Worker struct {
	Concurrency     int           `key:"concurrency"`
	ShutdownTimeout time.Duration `key:"shutdown_timeout"`
	UpdateRetention time.Duration `key:"update_retention"`
}

type Poller struct {
	Interval           time.Duration `key:"interval"`
	PromotionsInterval time.Duration `key:"promotions_interval"`
	AuthInterval       time.Duration `key:"auth_interval"`
	ProcessingTimeout  time.Duration `key:"processing_timeout"`
	// StatsInterval: how often the support numbers are computed from the
	// Appeals sheet (the Статистика sheet and the support gauges).
	StatsInterval time.Duration `key:"stats_interval"`
}

type Chat struct {
	UserMessagesPerMinute int           `key:"user_messages_per_minute"`
	AuthFailuresPerHour   int           `key:"auth_failures_per_hour"`
	LockTTL               time.Duration `key:"lock_ttl"`
	SupportContact        string        `key:"support_contact"`
	// ForumCheckInterval: how long the operators' group's getChat is_forum
	// (topics on or off) is trusted before it is asked again.
	ForumCheckInterval time.Duration `key:"forum_check_interval"`
}

type Analytics struct {
	Engine            string        `key:"engine"` // builtin or apps_script
	ObjectCodePattern string        `key:"object_code_pattern"`
	RequestsPerHour   int           `key:"requests_per_hour"`
	InitDataMaxAge    time.Duration `key:"init_data_max_age"`
	ReportTTL         time.Duration `key:"report_ttl"`
}

type Promo struct {
	ProgressEvery int `key:"progress_every"`
}

// Media is how partners' voice notes, audio, photos and documents are
// taken in (pkg/chat media*.go): downloaded from Telegram within its 20 MB
// bot limit and given to the chat model inline.
type Media struct {
	Enabled          bool          `key:"enabled"`            // false: non-text messages get media_unsupported, as before
	MaxFileMB        int           `key:"max_file_mb"`        // largest file taken in (1..20: Telegram lets bots download at most 20 MB)
	MaxAudioDuration time.Duration `key:"max_audio_duration"` // longest voice note, audio or video note
	MaxPhotoSide     int           `key:"max_photo_side"`     // the largest photo size not longer than this (px) is taken
	DownloadTimeout  time.Duration `key:"download_timeout"`   // getFile + download of one file, all attempts
	DownloadAttempts int           `key:"download_attempts"`  // attempts for transient failures (network, 5xx)
	InflightMB       int           `key:"inflight_mb"`        // media bytes one worker holds at once (downloads wait beyond it)
	MaxOutputTokens  int           `key:"max_output_tokens"`  // output cap of a media turn (transcript + answer)
	KnowledgeChars   int           `key:"knowledge_budget_chars"`
	// TranscribeEscalated: a voice note of a partner whose appeal an
	// operator has is transcribed (one model call without the
	// conversation) so the relay and the history carry the text.
	TranscribeEscalated bool `key:"transcribe_escalated"`
}

// Hours are the operators' working hours (pkg/hours): a partner who asks
// for a person out of hours is told when one will answer, and the
// operators get the list of who waited when they open.
type Hours struct {
	// Timezone is the team's (IANA); "" = app.timezone.
	Timezone string `key:"timezone"`
	// Schedule lines such as "mon-fri 09:00-19:00"; none = always open.
	Schedule []string `key:"schedule"`
	// Holidays: days off, "2027-01-07" or "2026-12-31..2027-01-08", besides
	// the Holidays sheet.
	Holidays []string `key:"holidays"`
	// AIMeanwhile: out of hours the AI keeps answering a partner who
	// waits for a person (their messages go to the operators too) until an
	// operator answers or the desk opens, and the partner is told so.
	AIMeanwhile bool `key:"ai_meanwhile"`
}

// Defaults returns the built-in defaults; every key that exists has one here,
// which is also how environment overrides find their keys.
func Defaults() Config {
	return Config{
		App: App{Timezone: "Europe/Moscow", MessagesFile: "messages.ru.yaml"},
		Log: Log{Level: "info", Format: "json"},
		Telegram: Telegram{
			APIURL: "https://api.telegram.org", WebhookPath: "/telegram/webhook",
			PollTimeout: 30 * time.Second, GlobalPerSecond: 30, ChatPerSecond: 1, ChatBurst: 3,
			GroupPerMinute: 20, RequestTimeout: 40 * time.Second,
		},
		Redis: Redis{URL: "redis://127.0.0.1:6379/0", KeyPrefix: "mb:"},
		Sheets: Sheets{
			Batching: true, FleetCoalescing: true, FlushInterval: 50 * time.Millisecond, MaxBatch: 100,
			ReadsPerMinute: 55, WritesPerMinute: 55, QuotaWindow: time.Minute,
			RequestTimeout: 20 * time.Second, AuthCacheTTL: 30 * time.Second,
			KnowledgeTTL: 5 * time.Minute, ListingsTTL: 10 * time.Minute, HeaderTTL: time.Minute,
			Titles: SheetTitles{
				Auth: "Auth", Appeals: "Обращения", Queue: "Очередь",
				Listings: "Объекты", Promotions: "Акции", Knowledge: "База знаний",
				Stats:     "Статистика",
				Templates: "Шаблоны", Holidays: "Праздники",
			},
			Headers: DefaultSheetHeaders(),
		},
		Gemini: Gemini{
			// Current models (see configs/config.example.yaml); --check asks Google for both.
			ChatModel: "gemini-3-flash-preview", AnalysisModel: "gemini-3.5-flash",
			Timeout: 30 * time.Second, RetryBudget: 20 * time.Second,
			SystemPromptFile: "system_prompt.txt", HistoryBudget: 6000, KnowledgeTopK: 4,
			Temperature: 0.4, MaxOutputTokens: 1024,
			Stream: true, DraftInterval: 700 * time.Millisecond,
			EscalationKeywords: []string{"оператор", "менеджер", "живой человек", "позовите человека", "позвать человека"},
		},
		HTTP:   HTTP{BotAddr: "127.0.0.1:8081", WorkerAddr: "127.0.0.1:9101", PollerAddr: "127.0.0.1:9102"},
		Admin:  Admin{ReadOnly: true},
		Worker: Worker{Concurrency: 64, ShutdownTimeout: 8 * time.Second, UpdateRetention: time.Hour},
		Poller: Poller{Interval: 15 * time.Second, PromotionsInterval: time.Minute, AuthInterval: 30 * time.Second, ProcessingTimeout: 10 * time.Minute,
			StatsInterval: 10 * time.Minute},
		Chat:      Chat{UserMessagesPerMinute: 20, AuthFailuresPerHour: 5, LockTTL: 30 * time.Second, ForumCheckInterval: 5 * time.Minute},
		Analytics: Analytics{Engine: "builtin", ObjectCodePattern: `^[A-Z]{2,4}-\d{3,8}$`, RequestsPerHour: 20, InitDataMaxAge: 24 * time.Hour, ReportTTL: 7 * 24 * time.Hour},
		Promo:     Promo{ProgressEvery: 50},
		Media: Media{Enabled: true, MaxFileMB: 20, MaxAudioDuration: 10 * time.Minute, MaxPhotoSide: 1600,
			DownloadTimeout: time.Minute, DownloadAttempts: 3, InflightMB: 160, MaxOutputTokens: 8192,
			KnowledgeChars: 20000, TranscribeEscalated: true},
		Hours: Hours{AIMeanwhile: true},
	}
}

// Error is a configuration problem, reported as one line naming the key.
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config: %s %s (env %s)", e.Key, e.Msg, EnvName(e.Key))
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// legacyEnv maps the variable names of the Python original's shared/.env to our keys,
// so an existing secrets file keeps working.
var legacyEnv = map[string]string{
	"TELEGRAM_BOT_TOKEN": "telegram.token",
	"BOT_TOKEN":          "telegram.token",
	"TELEGRAM_TOKEN":     "telegram.token",
	"GEMINI_API_KEY":     "gemini.api_key",
	"GOOGLE_API_KEY":     "gemini.api_key",
	"SPREADSHEET_ID":     "sheets.spreadsheet_id",
	"OPERATORS_CHAT_ID":  "telegram.operators_chat_id",
}

// Options tell Load where to look. Env defaults to the process environment.
type Options struct {
	File string            // config file; "" = no file (defaults + env only)
	Env  map[string]string // nil: os.Environ()
}

// Load reads the configuration without validating it for a role.
func Load(opts Options) (*Config, error) {
	env := opts.Env
	if env == nil {
		env = environ()
	}
	v := viper.New()
	def := Defaults()
	keys := leafKeys(reflect.TypeOf(def), "")
	for _, k := range keys {
		v.SetDefault(k.path, fieldByPath(reflect.ValueOf(def), k.index).Interface())
	}
	cfg := def
	if opts.File != "" {
		abs, err := filepath.Abs(opts.File)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		v.SetConfigFile(abs)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config: read %s: %w", opts.File, err)
		}
		cfg.File, cfg.Dir = abs, filepath.Dir(abs)
	} else {
		wd, _ := os.Getwd()
		cfg.Dir = wd
	}

	// Secrets file: .env beside the config unless app.env_file says otherwise.
	envFile := firstNonEmpty(env[EnvName("app.env_file")], cast.ToString(v.Get("app.env_file")))
	explicit := envFile != ""
	if envFile == "" {
		envFile = ".env"
	}
	envFile = resolve(cfg.Dir, envFile)
	dotenv, err := godotenv.Read(envFile)
	if err != nil && (explicit || !errors.Is(err, os.ErrNotExist)) {
		return nil, fmt.Errorf("config: app.env_file %s: %w", envFile, err)
	}
	byEnv := make(map[string]string, len(keys))
	for _, k := range keys {
		byEnv[EnvName(k.path)] = k.path
	}
	apply := func(src map[string]string) {
		for name, val := range src {
			if key, ok := byEnv[name]; ok {
				v.Set(key, val)
			} else if key, ok := legacyEnv[name]; ok {
				if _, overridden := src[EnvName(key)]; !overridden {
					v.Set(key, val)
				}
			}
		}
	}
	apply(dotenv) // lower precedence first
	apply(env)

	if opts.File != "" {
		// A misspelt key would otherwise be ignored silently and the default used.
		for _, k := range v.AllKeys() {
			if _, known := byEnv[EnvName(k)]; !known && !isParentKey(k, keys) {
				return nil, &Error{Key: k, Msg: "is not a known setting: check its spelling against configs/config.example.yaml"}
			}
		}
	}
	for _, k := range keys {
		f := fieldByPath(reflect.ValueOf(&cfg).Elem(), k.index)
		if err := assign(f, v.Get(k.path)); err != nil {
			return nil, &Error{Key: k.path, Msg: fmt.Sprintf("is malformed: %v", err)}
		}
	}
	cfg.App.MessagesFile = resolve(cfg.Dir, cfg.App.MessagesFile)
	cfg.Gemini.SystemPromptFile = resolve(cfg.Dir, cfg.Gemini.SystemPromptFile)
	if cfg.Sheets.CredentialsFile != "" {
		cfg.Sheets.CredentialsFile = resolve(cfg.Dir, cfg.Sheets.CredentialsFile)
	}
	return &cfg, nil
}

// LoadFor loads and validates the configuration for role.
func LoadFor(role Role, opts Options) (*Config, error) {
	cfg, err := Load(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(role); err != nil {
		return nil, err
	}
	return cfg, nil
}

func isParentKey(k string, keys []leaf) bool {
	for _, l := range keys {
		if strings.HasPrefix(l.path, k+".") {
			return true
		}
	}
	return false
}

func environ() map[string]string {
	m := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, val, ok := strings.Cut(kv, "="); ok {
			m[k] = val
		}
	}
	return m
}

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

type leaf struct {
	path  string
	index []int
}

func leafKeys(t reflect.Type, prefix string) []leaf {
	var out []leaf
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("key")
		if tag == "" || tag == "-" {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			for _, sub := range leafKeys(f.Type, path) {
				out = append(out, leaf{sub.path, append([]int{i}, sub.index...)})
			}
			continue
		}
		out = append(out, leaf{path, []int{i}})
	}
	return out
}

func fieldByPath(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		v = v.Field(i)
	}
	return v
}

// assign converts a value from YAML, env or .env into the field's type with a
// message a person can act on.
func assign(f reflect.Value, raw any) error {
	switch f.Interface().(type) {
	case time.Duration:
		d, err := cast.ToDurationE(raw)
		if err != nil {
			return fmt.Errorf("expected a duration such as 15s or 2m, got %q", fmt.Sprint(raw))
		}
		f.SetInt(int64(d))
	case string:
		s, err := cast.ToStringE(raw)
		if err != nil {
			return fmt.Errorf("expected text, got %v", raw)
		}
		f.SetString(strings.TrimSpace(s))
	case bool:
		b, err := cast.ToBoolE(raw)
		if err != nil {
			return fmt.Errorf("expected true or false, got %q", fmt.Sprint(raw))
		}
		f.SetBool(b)
	case int, int64:
		n, err := cast.ToInt64E(raw)
		if err != nil {
			return fmt.Errorf("expected an integer, got %q", fmt.Sprint(raw))
		}
		f.SetInt(n)
	case float64:
		x, err := cast.ToFloat64E(raw)
		if err != nil {
			return fmt.Errorf("expected a number, got %q", fmt.Sprint(raw))
		}
		f.SetFloat(x)
	case []string:
		var list []string
		switch r := raw.(type) {
		case string: // env: comma-separated
			for _, s := range strings.Split(r, ",") {
				if s = strings.TrimSpace(s); s != "" {
					list = append(list, s)
				}
			}
		default:
			l, err := cast.ToStringSliceE(raw)
			if err != nil {
				return fmt.Errorf("expected a list, got %v", raw)
			}
			list = l
		}
		f.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Location is the configured time zone (validated, so never nil after LoadFor).
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.App.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Validate checks what role needs. The first problem is returned as *Error.
func (c *Config) Validate(role Role) error {
	all := role == RoleSandbox
	checks := c.commonChecks()
	if role == RoleBot || role == RoleWorker || all {
		checks = append(checks, c.telegramChecks()...)
	}
	if role == RoleBot || all {
		checks = append(checks, c.botChecks()...)
	}
	if role == RoleWorker || role == RolePoller || all {
		checks = append(checks, c.sheetsChecks()...)
	}
	if role == RoleWorker || all {
		checks = append(checks, c.workerChecks()...)
	}
	if role == RolePoller || all {
		checks = append(checks, c.pollerChecks()...)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// requiredSetting reports an empty setting that role needs, saying what it is.
func requiredSetting(key, val, what string) error {
	if strings.TrimSpace(val) == "" {
		return &Error{Key: key, Msg: "is required: " + what}
	}
	return nil
}

// commonChecks apply to every role.
func (c *Config) commonChecks() []func() error {
	return []func() error{
		func() error {
			if _, err := time.LoadLocation(c.App.Timezone); err != nil {
				return &Error{Key: "app.timezone", Msg: fmt.Sprintf("%q is not a known time zone: expected an IANA name such as Europe/Moscow", c.App.Timezone)}
			}
			return nil
		},
		func() error { return oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error") },
		func() error { return oneOf("log.format", c.Log.Format, "json", "text") },
		func() error { return c.validateRedis() },
	}
}

// telegramChecks apply to the roles that call Telegram: bot and worker.
func (c *Config) telegramChecks() []func() error {
	return []func() error{
		func() error {
			if err := requiredSetting("telegram.token", c.Telegram.Token, "the bot token from @BotFather"); err != nil {
				return err
			}
			if !tokenRe.MatchString(c.Telegram.Token) {
				return &Error{Key: "telegram.token", Msg: "is malformed: expected <digits>:<secret> as issued by @BotFather"}
			}
			return nil
		},
		func() error { return httpURL("telegram.api_url", c.Telegram.APIURL, true) },
		func() error { return positive("telegram.request_timeout", float64(c.Telegram.RequestTimeout)) },
	}
}

// botChecks apply to the bot.
func (c *Config) botChecks() []func() error {
	return []func() error{
		func() error { return hostPort("http.bot_addr", c.HTTP.BotAddr) },
		func() error { return httpURL("telegram.webhook_url", c.Telegram.WebhookURL, false) },
		func() error {
			if c.Telegram.WebhookURL != "" {
				if err := requiredSetting("telegram.webhook_secret", c.Telegram.WebhookSecret, "a random secret (1-256 chars of A-Z a-z 0-9 _ -) checked on every webhook call"); err != nil {
					return err
				}
				if !secretRe.MatchString(c.Telegram.WebhookSecret) {
					return &Error{Key: "telegram.webhook_secret", Msg: "is malformed: expected 1-256 characters of A-Z a-z 0-9 _ -"}
				}
			}
			return nil
		},
		func() error {
			if c.Telegram.PollTimeout < 0 || c.Telegram.PollTimeout > 50*time.Second {
				return &Error{Key: "telegram.poll_timeout", Msg: "is out of range: expected 0s..50s"}
			}
			return nil
		},
		func() error { return positive("analytics.init_data_max_age", float64(c.Analytics.InitDataMaxAge)) },
		func() error { return c.validateAdmin() },
	}
}

// sheetsChecks apply to the roles that use the spreadsheet: worker and poller.
func (c *Config) sheetsChecks() []func() error {
	return []func() error{
		func() error {
			return requiredSetting("sheets.spreadsheet_id", c.Sheets.SpreadsheetID, "the id of the Google Spreadsheet (from its URL)")
		},
		func() error {
			if c.Sheets.CredentialsFile != "" {
				if _, err := os.Stat(c.Sheets.CredentialsFile); err != nil {
					return &Error{Key: "sheets.credentials_file", Msg: fmt.Sprintf("%s cannot be read: expected the service-account JSON file", c.Sheets.CredentialsFile)}
				}
			}
			if c.Sheets.Endpoint != "" {
				return httpURL("sheets.endpoint", c.Sheets.Endpoint, true)
			}
			return requiredSetting("sheets.credentials_file", c.Sheets.CredentialsFile, "the path of the Google service-account JSON file")
		},
		func() error { return positive("sheets.reads_per_minute", float64(c.Sheets.ReadsPerMinute)) },
		func() error { return positive("sheets.writes_per_minute", float64(c.Sheets.WritesPerMinute)) },
		func() error { return positive("sheets.quota_window", float64(c.Sheets.QuotaWindow)) },
		func() error { return positive("sheets.max_batch", float64(c.Sheets.MaxBatch)) },
		func() error { return positive("sheets.request_timeout", float64(c.Sheets.RequestTimeout)) },
		func() error { return c.validateTitles() },
		func() error { return positive("sheets.header_cache_ttl", float64(c.Sheets.HeaderTTL)) },
		func() error { return c.validateHeaders() },
		func() error { return oneOf("analytics.engine", c.Analytics.Engine, "builtin", "apps_script") },
		func() error { _, err := c.Schedule(); return err },
	}
}

// workerChecks apply to the worker.
func (c *Config) workerChecks() []func() error {
	return []func() error{
		func() error { return hostPort("http.worker_addr", c.HTTP.WorkerAddr) },
		func() error { return requiredSetting("gemini.api_key", c.Gemini.APIKey, "a Google AI Studio API key") },
		func() error { return httpURL("gemini.base_url", c.Gemini.BaseURL, false) },
		func() error { return requiredSetting("gemini.chat_model", c.Gemini.ChatModel, "a Gemini model name") },
		func() error { return positive("gemini.timeout", float64(c.Gemini.Timeout)) },
		func() error {
			if c.Gemini.Stream && c.Gemini.DraftInterval < 100*time.Millisecond {
				return &Error{Key: "gemini.draft_interval", Msg: "is too short: expected at least 100ms between draft updates (Telegram's flood limits)"}
			}
			return nil
		},
		func() error {
			if c.Telegram.OperatorsChatID == 0 {
				return &Error{Key: "telegram.operators_chat_id", Msg: "is required: the id of the operators' Telegram group (a negative number)"}
			}
			return nil
		},
		func() error { return positive("worker.concurrency", float64(c.Worker.Concurrency)) },
		func() error { return positive("chat.forum_check_interval", float64(c.Chat.ForumCheckInterval)) },
		func() error { return positive("telegram.global_per_second", c.Telegram.GlobalPerSecond) },
		func() error { return positive("telegram.chat_per_second", c.Telegram.ChatPerSecond) },
		func() error { return c.validateMedia() },
		func() error {
			if _, err := regexp.Compile(c.Analytics.ObjectCodePattern); err != nil {
				return &Error{Key: "analytics.object_code_pattern", Msg: "is not a valid regular expression: " + err.Error()}
			}
			return nil
		},
	}
}

// pollerChecks apply to the poller.
func (c *Config) pollerChecks() []func() error {
	return []func() error{
		func() error { return hostPort("http.poller_addr", c.HTTP.PollerAddr) },
		func() error { return positive("poller.interval", float64(c.Poller.Interval)) },
		func() error { return positive("poller.promotions_interval", float64(c.Poller.PromotionsInterval)) },
		func() error { return positive("poller.auth_interval", float64(c.Poller.AuthInterval)) },
		func() error { return positive("poller.processing_timeout", float64(c.Poller.ProcessingTimeout)) },
		func() error { return positive("poller.stats_interval", float64(c.Poller.StatsInterval)) },
		func() error { return positive("chat.forum_check_interval", float64(c.Chat.ForumCheckInterval)) },
	}
}

var (
	tokenRe  = regexp.MustCompile(`^\d{1,20}:[A-Za-z0-9_-]{10,}$`)
	secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

func (c *Config) validateRedis() error {
	if c.Redis.Sentinel.Master != "" {
		if len(c.Redis.Sentinel.Addrs) == 0 {
			return &Error{Key: "redis.sentinel.addrs", Msg: "is required with redis.sentinel.master: expected host:port of the Sentinels"}
		}
		for _, a := range c.Redis.Sentinel.Addrs {
			if err := hostPort("redis.sentinel.addrs", a); err != nil {
				return err
			}
		}
		return nil
	}
	if c.Redis.URL == "" {
		return &Error{Key: "redis.url", Msg: "is required: expected redis://[:password@]host:port/db (or redis.sentinel.master)"}
	}
	u, err := url.Parse(c.Redis.URL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") || (u.Scheme != "unix" && u.Host == "") {
		return &Error{Key: "redis.url", Msg: "is malformed: expected redis://[:password@]host:port/db"}
	}
	return nil
}

func (c *Config) validateTitles() error {
	t := c.Sheets.Titles
	for _, kv := range [][2]string{
		{"sheets.titles.auth", t.Auth}, {"sheets.titles.appeals", t.Appeals}, {"sheets.titles.queue", t.Queue},
		{"sheets.titles.listings", t.Listings}, {"sheets.titles.promotions", t.Promotions}, {"sheets.titles.knowledge", t.Knowledge},
		{"sheets.titles.stats", t.Stats},
		{"sheets.titles.templates", t.Templates}, {"sheets.titles.holidays", t.Holidays},
	} {
		if kv[1] == "" {
			return &Error{Key: kv[0], Msg: "is required: the title of that sheet"}
		}
	}
	return nil
}

// MaxTelegramDownloadMB is the Bot API's limit on files a bot may download
// (getFile answers "file is too big" above it).
const MaxTelegramDownloadMB = 20

func (c *Config) validateMedia() error {
	m := c.Media
	if m.MaxFileMB < 1 || m.MaxFileMB > MaxTelegramDownloadMB {
		return &Error{Key: "media.max_file_mb", Msg: fmt.Sprintf("is out of range: expected 1..%d (Telegram lets bots download at most %d MB)", MaxTelegramDownloadMB, MaxTelegramDownloadMB)}
	}
	if m.InflightMB < m.MaxFileMB {
		return &Error{Key: "media.inflight_mb", Msg: "must be at least media.max_file_mb: one file must fit"}
	}
	for _, kv := range []struct {
		key string
		x   float64
	}{
		{"media.max_audio_duration", float64(m.MaxAudioDuration)}, {"media.max_photo_side", float64(m.MaxPhotoSide)},
		{"media.download_timeout", float64(m.DownloadTimeout)}, {"media.download_attempts", float64(m.DownloadAttempts)},
		{"media.max_output_tokens", float64(m.MaxOutputTokens)}, {"media.knowledge_budget_chars", float64(m.KnowledgeChars)},
	} {
		if err := positive(kv.key, kv.x); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateAdmin() error {
	if (c.Admin.Username == "") != (c.Admin.Password == "") {
		return &Error{Key: "admin.password", Msg: "must be set together with admin.username (leave both empty to disable the admin UI)"}
	}
	if c.Admin.Password != "" && len(c.Admin.Password) < 12 {
		return &Error{Key: "admin.password", Msg: "is too short: expected at least 12 characters"}
	}
	return nil
}

func oneOf(key, val string, allowed ...string) error {
	for _, a := range allowed {
		if val == a {
			return nil
		}
	}
	return &Error{Key: key, Msg: fmt.Sprintf("%q is invalid: expected one of %s", val, strings.Join(allowed, ", "))}
}

func positive(key string, x float64) error {
	if x <= 0 {
		return &Error{Key: key, Msg: "must be greater than zero"}
	}
	return nil
}

func hostPort(key, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return &Error{Key: key, Msg: fmt.Sprintf("%q is malformed: expected host:port such as 127.0.0.1:8081", addr)}
	}
	return nil
}

func httpURL(key, raw string, required bool) error {
	if raw == "" {
		if required {
			return &Error{Key: key, Msg: "is required: expected an http(s) URL"}
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Key: key, Msg: fmt.Sprintf("%q is malformed: expected an http(s) URL", raw)}
	}
	return nil
}

// Redacted renders the effective configuration for logs and --check output,
// with secrets replaced by "***" (or "" when unset).
func (c *Config) Redacted() map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(*c)
	for _, k := range leafKeys(reflect.TypeOf(*c), "") {
		f := fieldByPath(v, k.index)
		val := f.Interface()
		if isSecret(reflect.TypeOf(*c), k.index) {
			if s, _ := val.(string); s != "" {
				val = "***"
			}
		}
		out[k.path] = val
	}
	return out
}

func isSecret(t reflect.Type, index []int) bool {
	var f reflect.StructField
	for _, i := range index {
		f = t.Field(i)
		t = f.Type
	}
	return f.Tag.Get("secret") == "true"
}

// Keys lists every configuration key (for docs and tests).
func Keys() []string {
	var out []string
	for _, k := range leafKeys(reflect.TypeOf(Config{}), "") {
		out = append(out, k.path)
	}
	return out
}

// MiniAppURL is where the Mini App is served: telegram.mini_app_url, else
// http.public_url + "/app/", else the bot's HTTP address (sandbox, tests).
func (c *Config) MiniAppURL() string {
	switch {
	case c.Telegram.MiniAppURL != "":
		return c.Telegram.MiniAppURL
	case c.HTTP.PublicURL != "":
		return strings.TrimRight(c.HTTP.PublicURL, "/") + "/app/"
	default:
		return "http://" + c.HTTP.BotAddr + "/app/"
	}
}

// PublicBaseURL is how users reach the bot's HTTP server (links to reports).
func (c *Config) PublicBaseURL() string {
	if c.HTTP.PublicURL != "" {
		return strings.TrimRight(c.HTTP.PublicURL, "/")
	}
	return "http://" + c.HTTP.BotAddr
}

// Schedule is the operators' working time (hours.*) with the configured
// holidays; the Holidays sheet's are added by the chat as it reads them.
func (c *Config) Schedule() (*hours.Schedule, error) {
	loc := c.Location()
	if tz := c.Hours.Timezone; tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, &Error{Key: "hours.timezone", Msg: fmt.Sprintf("%q is not a known time zone: expected an IANA name such as Europe/Moscow", tz)}
		}
		loc = l
	}
	days, err := hours.ParseDates(c.Hours.Holidays)
	if err != nil {
		return nil, &Error{Key: "hours.holidays", Msg: "is malformed: " + strings.TrimPrefix(err.Error(), "hours: ")}
	}
	s, err := hours.Parse(loc, c.Hours.Schedule, days)
	if err != nil {
		return nil, &Error{Key: "hours.schedule", Msg: "is malformed: " + strings.TrimPrefix(err.Error(), "hours: ")}
	}
	return s, nil
}
