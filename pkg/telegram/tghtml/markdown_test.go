package tghtml

import (
	"strings"
	"testing"
	"unicode"
)

var markdownTests = []struct {
	name string
	md   string
	want string
}{
	{"empty", "", ""},
	{"only whitespace", " \n\n\t\n", ""},
	{
		"typical answer with a bold heading",
		"## Комиссия партнёра\n\nСтандартная комиссия — **2 %** от цены объекта.\nВыплата — *после* сделки.\n",
		"<b>Комиссия партнёра</b>\n\nСтандартная комиссия — <b>2 %</b> от цены объекта.\nВыплата — <i>после</i> сделки.",
	},
	{
		"bold inside a heading is not doubled",
		"# **Итог**",
		"<b>Итог</b>",
	},
	{
		"nested lists",
		"1. Подготовьте документы:\n   - паспорт\n   - выписку из **ЕГРН**\n2. Передайте их менеджеру\n\n- пункт\n  - вложенный\n    - ещё глубже",
		"1. Подготовьте документы:\n   • паспорт\n   • выписку из <b>ЕГРН</b>\n2. Передайте их менеджеру\n\n• пункт\n  • вложенный\n    • ещё глубже",
	},
	{
		"ordered list keeps its start number",
		"3. три\n4) четыре",
		"3. три\n\n4. четыре",
	},
	{
		"loose list keeps blank lines and indents continuation paragraphs",
		"- первый\n\n  продолжение\n\n- второй",
		"• первый\n\n  продолжение\n\n• второй",
	},
	{
		"code block with < and & inside",
		"Пример:\n\n```go\nif a < b && c > 0 {\n\treturn\n}\n```\n\nГотово.",
		"Пример:\n\n<pre><code class=\"language-go\">if a &lt; b &amp;&amp; c &gt; 0 {\n\treturn\n}</code></pre>\n\nГотово.",
	},
	{
		"code block without language and indented code",
		"```\n<div>\n```\n\n    x := 1",
		"<pre>&lt;div&gt;</pre>\n\n<pre>x := 1</pre>",
	},
	{
		"odd fence info is not a class",
		"```js\" onclick=\"x\nalert(1)\n```",
		"<pre>alert(1)</pre>",
	},
	{
		"inline code with markup",
		"Введите `<b>&amp;</b>` как есть",
		"Введите <code>&lt;b&gt;&amp;amp;&lt;/b&gt;</code> как есть",
	},
	{
		"inline code inside bold closes and reopens the bold",
		"**Файл `config.yaml` важен**",
		"<b>Файл </b><code>config.yaml</code><b> важен</b>",
	},
	{
		"inline code inside a link keeps the link",
		"[`docs`](https://example.com/docs)",
		`<a href="https://example.com/docs">docs</a>`,
	},
	{
		"links",
		"[сайт](https://example.com/?a=1&b=\"2\") [бот](tg://resolve?domain=partner_bot) [почта](mailto:info@example.com) <https://example.com> <info@example.com>",
		`<a href="https://example.com/?a=1&amp;b=%222%22">сайт</a> <a href="tg://resolve?domain=partner_bot">бот</a> <a href="mailto:info@example.com">почта</a> <a href="https://example.com">https://example.com</a> <a href="mailto:info@example.com">info@example.com</a>`,
	},
	{
		"unsafe and relative links become plain text",
		"[нажми](javascript:alert(1)) [файл](/etc/passwd) [данные](data:text/html,x) [пусто](http://)",
		"нажми файл данные пусто",
	},
	{
		"formatting inside a link",
		"[**важная** ссылка](https://example.com)",
		`<a href="https://example.com"><b>важная</b> ссылка</a>`,
	},
	{
		"image becomes a link with its description",
		"![План квартиры](https://example.com/plan.png) ![](https://example.com/x.png) ![локальная](x.png)",
		`<a href="https://example.com/plan.png">План квартиры</a> <a href="https://example.com/x.png">https://example.com/x.png</a> локальная`,
	},
	{
		"raw HTML block and inline HTML are escaped",
		"<div class=\"x\">\n<script>alert(1)</script>\n</div>\n\nТекст с <b>тегом</b> & амперсандом, <br> и <!-- комментарием -->",
		"&lt;div class=\"x\"&gt;\n&lt;script&gt;alert(1)&lt;/script&gt;\n&lt;/div&gt;\n\nТекст с &lt;b&gt;тегом&lt;/b&gt; &amp; амперсандом, &lt;br&gt; и &lt;!-- комментарием --&gt;",
	},
	{
		"entities and backslash escapes",
		"&copy; 2026 &lt;тег&gt; &amp;amp; &#128077; \\*не курсив\\* \\<div\\> &bogus;",
		"© 2026 &lt;тег&gt; &amp;amp; 👍 *не курсив* &lt;div&gt; &amp;bogus;",
	},
	{
		"emoji",
		"✅ Готово! 👋🏽 Добро пожаловать 🇷🇺 👨‍👩‍👧",
		"✅ Готово! 👋🏽 Добро пожаловать 🇷🇺 👨‍👩‍👧",
	},
	{
		"strikethrough and emphasis",
		"~~старая цена~~ ***новая*** _курсив_ __жирный__",
		"<s>старая цена</s> <i><b>новая</b></i> <i>курсив</i> <b>жирный</b>",
	},
	{
		"empty emphasis leaves nothing",
		"[](https://example.com) текст",
		"текст",
	},
	{
		"blockquote, nested quotes merge",
		"> **Важно:** не сообщайте код.\n>\n> > вложенная цитата\n\nДалее",
		"<blockquote><b>Важно:</b> не сообщайте код.\n\nвложенная цитата</blockquote>\n\nДалее",
	},
	{
		"list inside a quote",
		"> - один\n> - два",
		"<blockquote>• один\n• два</blockquote>",
	},
	{
		"thematic break",
		"Раздел 1\n\n---\n\nРаздел 2\n***",
		"Раздел 1\n\n———\n\nРаздел 2\n\n———",
	},
	{
		"hard and soft breaks",
		"первая  \nвторая\\\nтретья\nчетвёртая",
		"первая\nвторая\nтретья\nчетвёртая",
	},
	{
		"table without the extension stays readable text",
		"| Тип | Комиссия |\n|---|---|\n| Квартира | 2 % |",
		"| Тип | Комиссия |\n|---|---|\n| Квартира | 2 % |",
	},
	{
		"CRLF input",
		"строка 1\r\nстрока 2\r\n\r\n- пункт\r\n",
		"строка 1\nстрока 2\n\n• пункт",
	},
	{
		"invalid UTF-8 and NUL are replaced",
		"a\xffb\x00c",
		"a\uFFFDb\uFFFDc",
	},
	{
		"trailing whitespace inside a code block is trimmed at the end",
		"```\ncode   \n\n\n```",
		"<pre>code</pre>",
	},
}

func TestFromMarkdown(t *testing.T) {
	for _, tt := range markdownTests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromMarkdown(tt.md)
			if got != tt.want {
				t.Errorf("FromMarkdown(%q)\n got: %q\nwant: %q", tt.md, got, tt.want)
			}
			checkRendered(t, got)
		})
	}
}

// checkRendered asserts the guarantees FromMarkdown gives for any input.
func checkRendered(t *testing.T, html string) {
	t.Helper()
	if err := checkHTML(html); err != nil {
		t.Error(err)
	}
	if strings.TrimRightFunc(html, unicode.IsSpace) != html {
		t.Errorf("output %q ends with whitespace", html)
	}
	if p := Plain(html); strings.TrimRightFunc(p, unicode.IsSpace) != p {
		t.Errorf("visible text %q ends with whitespace", p)
	}
}

func TestFromMarkdownLongAnswer(t *testing.T) {
	// A long Gemini answer must convert in one piece and split into messages
	// Telegram accepts, losing nothing but whitespace.
	var md strings.Builder
	for i := range 120 {
		md.WriteString("## Раздел ")
		md.WriteString(strings.Repeat("I", i%5+1))
		md.WriteString("\n\nПартнёр получает **комиссию** за каждую сделку, а ИИ отвечает на вопросы 24/7. ")
		md.WriteString("Подробности — в [базе знаний](https://example.com/kb). Формула: `цена * 0.02 < лимит`.\n\n")
		md.WriteString("- первый пункт\n- второй пункт с эмодзи 🏠\n\n```\nstep < 10 && ok\n```\n\n")
	}
	html := FromMarkdown(md.String())
	checkRendered(t, html)
	if VisibleLen(html) <= MaxMessageLen {
		t.Fatalf("test input too short: %d units", VisibleLen(html))
	}
	parts := Split(html, MaxMessageLen)
	if len(parts) < 2 {
		t.Fatalf("Split returned %d parts", len(parts))
	}
	checkParts(t, html, parts, MaxMessageLen)
	for i, p := range parts[:len(parts)-1] {
		// Paragraph breaks are plentiful, so every cut must be at one.
		next := Plain(parts[i+1])
		if !strings.Contains(Plain(html), Plain(p)+"\n\n"+next[:min(len(next), 20)]) {
			t.Errorf("part %d was not cut at a paragraph break: ...%q | %q...", i, tail(Plain(p), 30), next[:min(len(next), 20)])
		}
	}
}

func tail(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

func BenchmarkFromMarkdown(b *testing.B) {
	md := strings.Repeat("## Заголовок\n\nТекст **жирный** и `код < 1`, [ссылка](https://example.com).\n\n- пункт\n- пункт\n\n", 40)
	b.SetBytes(int64(len(md)))
	for b.Loop() {
		FromMarkdown(md)
	}
}
