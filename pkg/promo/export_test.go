package promo

import "context"

// LeaveClaim leaves the claim an attempt takes right before its Bot API
// call, as if the worker died during that call.
func LeaveClaim(ctx context.Context, s *Service, promotionID string, telegramID int64) error {
	_, err := s.claim(ctx, promotionID, telegramID)
	return err
}
