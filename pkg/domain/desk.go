package domain

import "time"

// Template is a row of the Templates sheet (Шаблоны): a canned answer an
// operator sends with /t key. Text may hold placeholders ({имя}, {код}…)
// that pkg/chat fills.
type Template struct {
	Key   string
	Title string
	Text  string
}

// Holiday is a row of the Holidays sheet (Праздники): a day the operators
// do not work. Day is the civil date at midnight UTC (the team's calendar
// day, whatever its time zone).
type Holiday struct {
	Day   time.Time
	Title string
}
