package domain

import "errors"

// ErrNotFound means the requested row does not exist in the spreadsheet.
var ErrNotFound = errors.New("not found")

// AppealField names a part of an appeal row that a store update writes. Only
// what changed is written, so an operator's hand edit of another cell is
// never overwritten.
type AppealField int

const (
	AppealFieldHistory  AppealField = iota // текст_обращений
	AppealFieldStatus                      // Статус
	AppealFieldOperator                    // operator
	AppealFieldNames                       // user name and partner code
	// The support numbers (issue 18).
	AppealFieldEscalatedAt
	AppealFieldFirstResponseAt
	AppealFieldResolvedAt
	AppealFieldRating
	AppealFieldRatingComment
)

// RequestField names a part of an Analytics 360 request row (Queue sheet)
// that a store update writes; updated_at is written with every update.
type RequestField int

const (
	RequestFieldStatus RequestField = iota
	RequestFieldReportURL
	RequestFieldError
	RequestFieldDeliveredAt
	RequestFieldResultText
)

// PromotionField names a part of a promotion row that a store update writes.
type PromotionField int

const (
	PromotionFieldStatus   PromotionField = iota
	PromotionFieldCounters                // sent · failed · blocked
	PromotionFieldFinishedAt
)
