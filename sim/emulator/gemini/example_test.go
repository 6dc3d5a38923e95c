package gemini_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"google.golang.org/genai"

	"marketingbot/sim/emulator/gemini"
)

// The real genai client talks to the emulator through BaseURL; the request
// log then shows what the bot sent.
func Example() {
	emu := gemini.New(gemini.Options{APIKey: "test-key"})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()

	ctx := context.Background()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:      "test-key",
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		log.Fatal(err)
	}
	system := "Ты помощник партнёрской сети.\n\n" +
		"# База знаний\n[Знание 1]\nТема: Комиссия партнёра\nВопрос: Какая комиссия у партнёра?\nОтвет: 2 % от стоимости объекта.\n\n" +
		"# Партнёр\nИмя: Ольга\nКод: P-7"
	resp, err := client.Models.GenerateContent(ctx, "gemini-3-flash-preview",
		genai.Text("Какая у меня комиссия?"),
		&genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText(system, genai.RoleUser)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text())

	logged := emu.Requests(gemini.RequestFilter{Method: gemini.MethodGenerateContent})
	req, err := logged[0].GenerateRequest()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged question:", req.LastUserText())
	// Output:
	// Ольга, вот что я нашёл по вашему вопросу.
	//
	// **Комиссия партнёра**
	// 2 % от стоимости объекта.
	// logged question: Какая у меня комиссия?
}

// The editor stand-in returns the marked block unchanged, so a "polish this
// summary" call can never alter its numbers.
func ExampleRespond_editor() {
	req := gemini.GenerateRequest{Contents: []gemini.Content{{
		Role:  "user",
		Parts: []gemini.Part{{Text: "Сделай текст живее, числа не меняй.\n<<<ТЕКСТ\nПродано 12 квартир на 84,5 млн ₽.\nТЕКСТ>>>"}},
	}}}
	fmt.Println(gemini.Respond(req))
	// Output: Продано 12 квартир на 84,5 млн ₽.
}
