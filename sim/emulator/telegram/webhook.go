package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"syscall"
	"time"
)

type webhookState struct {
	url              string
	secret           string
	maxConnections   int
	lastErrorDate    int64
	lastErrorMessage string
}

// pushWebhooks delivers pending updates to the webhook one at a time, in
// order, like Telegram with max_connections=1: the next update goes out
// only after the previous one was answered with 2xx. Failures back off
// exponentially. The lock is never held during the HTTP request.
func (s *Server) pushWebhooks() {
	defer s.wg.Done()
	backoff := time.Duration(0)
	for {
		s.mu.Lock()
		hook := s.webhook
		var next *queuedUpdate
		if hook.url != "" {
			if batch := s.deliverableLocked(1); len(batch) > 0 {
				next = batch[0]
			}
		}
		updates, hookChanged := s.updatesSignal, s.webhookSignal
		s.mu.Unlock()

		if next == nil {
			select {
			case <-s.ctx.Done():
				return
			case <-updates:
			case <-hookChanged:
			}
			continue
		}

		reply, err := s.push(hook, next.body)
		s.mu.Lock()
		if err == nil {
			s.confirmOneLocked(next)
			backoff = 0
		} else {
			s.webhook.lastErrorDate = time.Now().Unix()
			s.webhook.lastErrorMessage = err.Error()
			backoff = min(max(2*backoff, s.opts.WebhookBackoffMin), s.opts.WebhookBackoffMax)
		}
		s.mu.Unlock()

		if err != nil {
			s.opts.Logger.Warn("webhook delivery failed", "update_id", next.id, "error", err, "retry_in", backoff)
			timer := time.NewTimer(backoff)
			select {
			case <-s.ctx.Done():
				timer.Stop()
				return
			case <-hookChanged:
				backoff = 0
			case <-timer.C:
			}
			timer.Stop()
			continue
		}
		if reply != nil {
			s.runWebhookReply(reply)
		}
	}
}

// push posts one update. It returns the body of a 2xx answer if that
// answer is a method call (Telegram executes those), or the error Telegram
// would show in getWebhookInfo's last_error_message.
func (s *Server) push(hook webhookState, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("Invalid webhook URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.secret)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var timeout interface{ Timeout() bool }
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, errors.New("Connection refused")
		case errors.As(err, &timeout) && timeout.Timeout():
			return nil, errors.New("Connection timed out")
		}
		return nil, fmt.Errorf("Connection failed: %v", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("Wrong response from the webhook: %s", resp.Status)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" && len(bytes.TrimSpace(reply)) > 0 {
		return reply, nil
	}
	return nil, nil
}

// runWebhookReply executes a method call a bot returned in its webhook
// answer ({"method":"sendMessage",…}); Telegram gives no feedback on it.
func (s *Server) runWebhookReply(body []byte) {
	p, err := paramsFromJSON(body)
	if err != nil || p.str("method") == "" {
		return
	}
	method := p.str("method")
	delete(p.values, "method")
	if _, aerr := s.invoke(context.Background(), method, p); aerr != nil {
		s.opts.Logger.Warn("webhook reply method failed", "method", method, "error", aerr.description)
	}
}

// setWebhookLocked installs or removes (url == "") the webhook.
func (s *Server) setWebhookLocked(hook webhookState) {
	if hook.url != s.webhook.url {
		hook.lastErrorDate, hook.lastErrorMessage = 0, ""
	} else {
		hook.lastErrorDate, hook.lastErrorMessage = s.webhook.lastErrorDate, s.webhook.lastErrorMessage
	}
	s.webhook = hook
	s.signalWebhookLocked()
}

func (s *Server) signalWebhookLocked() {
	s.markDirtyLocked()
	close(s.webhookSignal)
	s.webhookSignal = make(chan struct{})
}
