// Package tghtml turns the Markdown that Gemini writes into the HTML subset
// Telegram accepts with parse_mode=HTML, and cuts long messages into parts
// Telegram will send.
//
// Telegram's subset is small and strict: b/strong, i/em, u/ins, s/strike/del,
// tg-spoiler, a href, code, pre (optionally with <code class="language-x">)
// and blockquote; only the &lt; &gt; &amp; &quot; entities (and numeric
// ones); balanced, properly nested tags; at most 4096 UTF-16 code units of
// visible text. A message that breaks a rule is rejected as a whole, so every
// function here errs on the side of plain text.
//
// FromMarkdown maps Markdown (CommonMark plus ~~strikethrough~~, parsed by
// goldmark) as follows:
//
//   - **bold** → <b>, *italic* → <i>, ~~strike~~ → <s>, `code` → <code>;
//   - fenced code → <pre><code class="language-x">, indented code → <pre>;
//   - links and autolinks → <a href> for http, https, tg and mailto
//     addresses; any other address (javascript:, relative, …) leaves the
//     label as plain text; images become a link labelled with their
//     description;
//   - headings → a bold line; thematic breaks → a line "———";
//   - lists → "• item" / "1. item" lines, nested lists and continuation
//     lines indented under the item's text;
//   - blockquotes → <blockquote> (Telegram cannot nest them: inner quotes
//     merge into the outer one);
//   - soft and hard line breaks → "\n"; blocks are separated by a blank line
//     (a single newline inside tight lists);
//   - raw HTML in the Markdown is shown as text, never passed through.
//
// Telegram forbids formatting around code, so bold or italic text around an
// inline code span is closed before it and reopened after it; inside a link
// a code span loses its monospace instead, to keep the link. All text is
// escaped, elements without visible text are dropped, and the result has no
// leading or trailing whitespace (except the indentation of a code block that
// opens the message).
//
// Split cuts a message at paragraph, line, sentence or word boundaries,
// closing the elements open at a cut and reopening them in the next part.
// Cut takes one head off a message that way (a caption and the rest of it),
// Trim keeps the head of a message that must stay one message and ends it
// with a visible marker, TrimPlain does the same for plain text. They are
// the cutting half of the outgoing-text path, pkg/telegram's SendText.
// VisibleLen measures a message as Telegram does, and Plain extracts the
// visible text: the fallback to send without parse_mode when Telegram still
// rejects the entities.
package tghtml
