"""What `stepthrough new FOLDER [--language CODE]` writes: a site.toml, one section and a practice
page, in the language asked for where stepthrough has a starter in it (English otherwise).

The prompts stay English (the builtin model's text encoder reads English); a starter in another
language gives their translations in `[prompt_translations]`, which the page shows beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Starter:
    title: str  # the section's title
    caption: str
    body: str  # Markdown under the front matter
    practice: str  # practice.md's front matter and body, after the opening '---'
    prompts: tuple[str, str, str] = ("", "", "")  # "a doctor", "red apple", "rocket" in the language


SITE = """\
# Your explainer. Keys: see README.md, "Content format".
title = {title}
language = {language}
model = "builtin"        # or a diffusers hub id / folder, rendered with `stepthrough precompute` on a GPU
bundle = {bundle}
"""

SECTION = """\
---
title: {title}
widget: stepper
caption: {caption}
sweep:
  prompts: ["a doctor", "red apple", "rocket"]
  seeds: [1]
  steps: [20]
  guidance: [5]
---

{body}
"""
PROMPTS = ("a doctor", "red apple", "rocket")

STARTERS = {
    "en": Starter(
        "From noise to picture",
        "Pick a prompt, then drag the slider.",
        "Write what the reader should notice here, in Markdown. Each file in `sections/` is one section;\n"
        "the number in its name sets the order.",
        """\
# The optional practice page (practice.html). Delete this file to build without it.
title: Practice
questions:
  - question: What does a diffusion model start from when it makes a new picture?
    answer: Pure random noise, made from a seed. The same seed gives the same noise.
order:  # in the right order; the page mixes them up
  - Start from random noise.
  - Remove a little noise at each step, guided by the prompt.
  - A finished picture appears.
predict:
  prompt: Predict what changes when you run the same prompt with a different seed.
  answer: The picture changes, because the starting noise changes; the prompt still steers it.
flashcards:
  - front: Seed
    back: The number that picks the starting noise.
---

Check what you learned. Answers stay hidden until you ask for them.
""",
    ),
    "es": Starter(
        "Del ruido a la imagen",
        "Elige una instrucción y arrastra el control deslizante.",
        "Escribe aquí, en Markdown, lo que quieres que el lector observe. Cada archivo de `sections/` es\n"
        "una sección; el número de su nombre fija el orden.",
        """\
# La página de práctica, opcional (practice.html). Borra este archivo para construir sin ella.
title: Practica
questions:
  - question: ¿De qué parte un modelo de difusión cuando crea una imagen nueva?
    answer: De ruido aleatorio puro, generado a partir de una semilla. La misma semilla da el mismo ruido.
order:  # en el orden correcto; la página los desordena
  - Se parte de ruido aleatorio.
  - En cada paso se quita un poco de ruido, guiado por la instrucción.
  - Aparece una imagen terminada.
predict:
  prompt: ¿Qué crees que cambia si usas la misma instrucción con otra semilla?
  answer: Cambia la imagen, porque cambia el ruido de partida; la instrucción la sigue guiando.
flashcards:
  - front: Semilla
    back: El número que elige el ruido de partida.
---

Comprueba lo que has aprendido. Las respuestas están ocultas hasta que las pidas.
""",
        ("un médico", "una manzana roja", "un cohete"),
    ),
    "fr": Starter(
        "Du bruit à l’image",
        "Choisissez un prompt, puis faites glisser le curseur.",
        "Écrivez ici, en Markdown, ce que le lecteur doit remarquer. Chaque fichier de `sections/` est\n"
        "une section ; le numéro de son nom fixe l’ordre.",
        """\
# La page d’exercices, facultative (practice.html). Supprimez ce fichier pour construire sans elle.
title: Exercices
questions:
  - question: De quoi part un modèle de diffusion pour créer une nouvelle image ?
    answer: D’un bruit purement aléatoire, tiré d’une graine. La même graine donne le même bruit.
order:  # dans le bon ordre ; la page les mélange
  - On part d’un bruit aléatoire.
  - À chaque étape, on retire un peu de bruit, guidé par le prompt.
  - Une image finie apparaît.
predict:
  prompt: Que va-t-il changer si vous relancez le même prompt avec une autre graine ?
  answer: L’image change, car le bruit de départ change ; le prompt continue de la guider.
flashcards:
  - front: Graine
    back: Le nombre qui choisit le bruit de départ.
---

Vérifiez ce que vous avez appris. Les réponses restent cachées jusqu’à ce que vous les demandiez.
""",
        ("un médecin", "une pomme rouge", "une fusée"),
    ),
    "de": Starter(
        "Vom Rauschen zum Bild",
        "Wähle einen Prompt und zieh dann den Schieberegler.",
        "Schreib hier in Markdown, worauf die Leserinnen und Leser achten sollen. Jede Datei in\n"
        "`sections/` ist ein Abschnitt; die Zahl im Namen legt die Reihenfolge fest.",
        """\
# Die Übungsseite, freiwillig (practice.html). Lösch diese Datei, um ohne sie zu bauen.
title: Üben
questions:
  - question: Womit beginnt ein Diffusionsmodell, wenn es ein neues Bild erzeugt?
    answer: Mit reinem Zufallsrauschen, erzeugt aus einem Seed. Derselbe Seed ergibt dasselbe Rauschen.
order:  # in der richtigen Reihenfolge; die Seite mischt sie
  - Es beginnt mit zufälligem Rauschen.
  - In jedem Schritt wird etwas Rauschen entfernt, gelenkt vom Prompt.
  - Ein fertiges Bild erscheint.
predict:
  prompt: Was ändert sich, wenn du denselben Prompt mit einem anderen Seed verwendest?
  answer: Das Bild ändert sich, weil sich das Startrauschen ändert; der Prompt lenkt es weiterhin.
flashcards:
  - front: Seed
    back: Die Zahl, die das Startrauschen festlegt.
---

Prüf, was du gelernt hast. Die Antworten bleiben verborgen, bis du sie aufdeckst.
""",
        ("ein Arzt", "ein roter Apfel", "eine Rakete"),
    ),
    "pt": Starter(
        "Do ruído à imagem",
        "Escolha um prompt e arraste o controle deslizante.",
        "Escreva aqui, em Markdown, o que o leitor deve observar. Cada arquivo em `sections/` é uma\n"
        "seção; o número no nome define a ordem.",
        """\
# A página de prática, opcional (practice.html). Apague este arquivo para construir sem ela.
title: Pratique
questions:
  - question: De onde um modelo de difusão parte quando cria uma imagem nova?
    answer: De ruído aleatório puro, gerado a partir de uma semente. A mesma semente dá o mesmo ruído.
order:  # na ordem certa; a página embaralha
  - Parte-se de ruído aleatório.
  - A cada passo, tira-se um pouco de ruído, guiado pelo prompt.
  - Aparece uma imagem pronta.
predict:
  prompt: O que você acha que muda ao usar o mesmo prompt com outra semente?
  answer: A imagem muda, porque o ruído inicial muda; o prompt continua a guiá-la.
flashcards:
  - front: Semente
    back: O número que escolhe o ruído inicial.
---

Confira o que você aprendeu. As respostas ficam escondidas até você pedir.
""",
        ("um médico", "uma maçã vermelha", "um foguete"),
    ),
    "ar": Starter(
        "من الضجيج إلى الصورة",
        "اختر موجِّهًا، ثم اسحب المنزلق.",
        "اكتب هنا بلغة Markdown ما تريد أن يلاحظه القارئ. كل ملف في `sections/` قسمٌ واحد،\n"
        "والرقم في اسمه يحدد الترتيب.",
        """\
# صفحة التدريب، اختيارية (practice.html). احذف هذا الملف لتبني الموقع بدونها.
title: تدرّب
questions:
  - question: من أين يبدأ نموذج الانتشار حين يصنع صورة جديدة؟
    answer: من ضجيج عشوائي خالص يُولَّد من بذرة. البذرة نفسها تعطي الضجيج نفسه.
order:  # بالترتيب الصحيح؛ الصفحة تخلطها
  - نبدأ من ضجيج عشوائي.
  - في كل خطوة نزيل قليلًا من الضجيج، مسترشدين بالموجِّه.
  - تظهر صورة مكتملة.
predict:
  prompt: ماذا تتوقع أن يتغير إذا استخدمت الموجِّه نفسه مع بذرة أخرى؟
  answer: تتغير الصورة لأن الضجيج الذي نبدأ منه يتغير، ويبقى الموجِّه هو الذي يوجّهها.
flashcards:
  - front: البذرة
    back: الرقم الذي يختار الضجيج الذي نبدأ منه.
---

راجع ما تعلّمته. تبقى الإجابات مخفية حتى تطلبها.
""",
        ("طبيب", "تفاحة حمراء", "صاروخ"),
    ),
}


def starter(language: str) -> Starter:
    """The starter in `language` ("pt-BR" uses pt's), else the English one."""
    return STARTERS.get(language) or STARTERS.get(language.split("-")[0].lower()) or STARTERS["en"]


def files(language: str, title: str, bundle: str) -> dict[str, str]:
    """The new content folder's files (path inside it → text)."""
    chosen = starter(language)
    site = SITE.format(
        title=json.dumps(title, ensure_ascii=False), language=json.dumps(language), bundle=json.dumps(bundle)
    )
    if any(chosen.prompts):  # JSON strings are TOML basic strings
        site += "\n# The prompts stay English (the model reads English); the page shows these beside them.\n"
        site += "[prompt_translations]\n" + "".join(
            f"{json.dumps(english)} = {json.dumps(shown, ensure_ascii=False)}\n"
            for english, shown in zip(PROMPTS, chosen.prompts, strict=True)
        )
    section = SECTION.format(
        title=json.dumps(chosen.title, ensure_ascii=False),
        caption=json.dumps(chosen.caption, ensure_ascii=False),
        body=chosen.body,
    )
    return {
        "site.toml": site,
        "sections/10-step-through.md": section,
        "practice.md": "---\n" + chosen.practice,
    }
