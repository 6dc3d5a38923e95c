// Package history reads and writes the chat log of an appeal: the column
// текст_обращений of the Appeals sheet, one cell per appeal. The cell is the
// only copy of the conversation, so the format must be readable and editable
// by an operator in the spreadsheet, parse back into turns, and carry an id
// per message so that a retried write never duplicates a line.
//
// # Format
//
//	[25.11.2026 14:03] Партнёр #u1042: Здравствуйте, какая комиссия?
//	[25.11.2026 14:03] ИИ #a1042: Стандартная комиссия — 2 %.
//	  Вторая строка ответа
//	[25.11.2026 14:10] Оператор Иван Петров #o5531: Добрый день, я подключился.
//	[25.11.2026 14:11] Система #s-esc-1042: Обращение передано оператору
//
// Every turn starts with a header line at column 0:
//
//	[DD.MM.YYYY HH:MM] <Role>[ <author>] #<id>: <first line of text>
//
// The time is in the *time.Location the caller passes (the bot's business
// time zone; nil means UTC), to the minute. In a zone with daylight saving,
// a time in the repeated autumn hour reads back as its first occurrence. Roles are Партнёр (RoleUser), ИИ (RoleAI),
// Оператор (RoleOperator, usually with the operator's name as author) and
// Система (RoleSystem). An id is '#' followed by [A-Za-z0-9_-]+.
//
// The other lines of a multi-line text follow with an indent of two spaces
// (empty lines stay empty). Because of the indent no text a user sends can
// ever produce a line that looks like a header, and a header's id is read
// before the first ':' of the line, so text after it cannot forge one
// either. Turns are joined by a single "\n"; the cell has no trailing
// newline of its own.
//
// # Reading hand-edited cells
//
// Parse is lenient where people are sloppy and exact where the bot writes:
//
//   - "\r\n" and "\r" count as "\n";
//   - extra spaces around the parts of a header are ignored, "Партнер" is
//     read as "Партнёр", dates may have one-digit days, months and hours;
//   - a header without "#id" (an operator typing a line by hand) is a turn
//     with an empty ID;
//   - exactly two leading spaces are removed from a continuation line; a line
//     whose indent an operator removed is kept as it is, and a line that is
//     not a header (wrong date, unknown role) continues the previous turn;
//   - text before the first header — such as the log left by the old Python
//     bot, whose format was never specified — is one turn with RoleLegacy,
//     and Format writes it back verbatim, first. A line of the old bot that
//     happens to look like a header of ours without an id ("[10.02.2026
//     15:02] Оператор: …") is read as that turn, and the old lines after it
//     are its text: every line is kept, as text (testdata/old_bot_cell.txt).
//     Append never rewrites what is in the cell, so the old log stays byte
//     for byte above the new turns.
//
// Authors are single-line names: Format and Parse both replace control
// characters with spaces, drop '#' and ':' (which delimit the header) and trim
// spaces, so Parse(Format(turns)) returns what was written. IDs outside the
// allowed alphabet have each offending character replaced by '_'.
//
// # Size
//
// A Google Sheets cell holds at most 50,000 characters, counted in UTF-16
// code units (Len). The bot rolls a conversation over to a continuation row
// before RolloverLimit: SplitForRollover tells which new turns still fit.
// Only a single turn larger than the whole limit is ever shortened: its text
// is cut at the end and TruncatedMarker appended, so the cell stays writable
// and the operator can see that something was lost.
package history
