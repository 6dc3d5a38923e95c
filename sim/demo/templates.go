package demo

import "marketingbot/pkg/domain"

// Templates are the sandbox's canned answers (the Шаблоны sheet): /t in a
// partner's topic lists them.
func Templates() []domain.Template {
	return []domain.Template{
		{Key: "привет", Title: "Приветствие", Text: "Здравствуйте, {имя}! Меня зовут {оператор}, я помогу с вашим вопросом."},
		{Key: "документы", Title: "Документы по сделке", Text: "{имя}, для расчёта комиссии пришлите, пожалуйста, договор купли-продажи и акт приёма-передачи."},
		{Key: "спасибо", Title: "Завершение", Text: "Спасибо за обращение! Если появятся вопросы — пишите, мы на связи."},
	}
}
