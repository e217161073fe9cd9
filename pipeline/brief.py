"""Read a campaign brief offline: title, palette, mood, tempo, buttons, winner, tries and prize from its words.

Deterministic by construction (keyword tables and a hash of the words, no randomness), so the same brief always
reads the same way and two briefs about different things read differently. The tables are small on purpose: a
brief that matches none of them still gets a distinct palette and winner from its hash, and buttons from its own
content words.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# keyword -> palette (dark, accent, light). The first keyword of the brief that names one wins, so "a Halloween
# party on the beach" is a Halloween campaign.
_PALETTE_WORDS: dict[str, tuple[str, ...]] = {
    "summer": ("beach", "summer", "sunny", "surf", "tropical", "sand", "vacation", "holiday"),
    "sunset": ("sunset", "orange", "warm", "fire", "spicy"),
    "ocean": ("ocean", "sea", "water", "blue", "cool", "fresh", "aqua"),
    "winter": ("winter", "snow", "ice", "frozen", "cold", "ski"),
    "christmas": ("christmas", "xmas", "festive", "santa", "advent"),
    "halloween": ("halloween", "spooky", "pumpkin", "witch", "ghost", "horror"),
    "night": ("night", "midnight", "galaxy", "space", "stars", "moon"),
    "forest": ("forest", "nature", "eco", "green", "garden", "spring", "organic", "plant"),
    "coffee": ("coffee", "cafe", "chocolate", "autumn", "fall", "cozy", "latte", "bakery"),
    "luxury": ("luxury", "gold", "premium", "elegant", "vip", "exclusive", "jewelry", "watch"),
    "candy": ("candy", "sweet", "pink", "valentine", "love", "romance", "cake", "dessert"),
    "neon": ("neon", "cyber", "gaming", "game", "tech", "future", "arcade", "retro"),
    "sport": ("sport", "sports", "fitness", "running", "run", "gym", "football", "soccer", "match", "race"),
}
PALETTES: dict[str, list[str]] = {
    "summer": ["#023e8a", "#00b4d8", "#ffd166"],
    "sunset": ["#3d0c4e", "#f15946", "#f9c22e"],
    "ocean": ["#03045e", "#0077b6", "#90e0ef"],
    "winter": ["#1d3557", "#457b9d", "#f1faee"],
    "christmas": ["#0b3d2e", "#c1121f", "#fefae0"],
    "halloween": ["#10002b", "#7b2cbf", "#ff9e00"],
    "night": ["#0b132b", "#3a506b", "#5bc0be"],
    "forest": ["#1b4332", "#52b788", "#d8f3dc"],
    "coffee": ["#3e2723", "#a1887f", "#ffe0b2"],
    "luxury": ["#0b0b0b", "#5c4d1a", "#d4af37"],
    "candy": ["#590d22", "#ff4d6d", "#ffccd5"],
    "neon": ["#0d0221", "#ff2a6d", "#05d9e8"],
    "sport": ["#14213d", "#fca311", "#e5e5e5"],
}
# A brief that names no palette keyword still gets one of these, chosen by its hash.
_FALLBACK_PALETTES = (
    ["#1b1f3b", "#ff6f59", "#f7c548"],
    ["#0b3954", "#087e8b", "#bfd7ea"],
    ["#2d1e2f", "#f15946", "#f9c22e"],
    ["#1a535c", "#4ecdc4", "#ffe66d"],
)

# mood (one pipeline.media.audio knows) -> (keywords, base tempo in BPM)
_MOODS: dict[str, tuple[tuple[str, ...], int]] = {
    "playful": (("playful", "fun", "bright", "kids", "party", "colourful", "colorful", "silly", "toy"), 132),
    "upbeat": (("upbeat", "energetic", "exciting", "bold", "dynamic", "sporty", "hype", "loud"), 124),
    "happy": (("happy", "joyful", "cheerful", "smile", "sunny", "celebrate", "celebration"), 120),
    "calm": (("calm", "relaxing", "relaxed", "chill", "cozy", "gentle", "spa", "zen", "elegant", "soft"), 84),
    "dark": (("dark", "spooky", "halloween", "creepy", "horror", "haunted", "gothic"), 92),
    "suspense": (("suspense", "tense", "mystery", "mysterious", "thriller", "secret", "detective"), 104),
    "melancholic": (("sad", "melancholic", "nostalgic", "rainy", "memories"), 78),
}
DEFAULT_MOOD = "upbeat"
_FASTER = ("fast", "quick", "rush", "speed", "turbo", "instant", "energetic", "race")
_SLOWER = ("slow", "slowly", "relaxed", "lazy", "sleepy", "gentle")
MIN_TEMPO, MAX_TEMPO = 60, 180

# The game mechanics the page plays: a wheel that spins, boxes (chests, gifts, doors...) that open, a scratch card,
# and a quiz. Each theme below is played as one of them.
KINDS = ("wheel", "chests", "scratch", "quiz")
DEFAULT_KIND = "chests"
# A kind's own choices, for a brief whose theme is played as another kind (or names none).
KIND_LABELS: dict[str, list[str]] = {
    "wheel": ["Red", "Gold", "Blue"],
    "chests": ["Box 1", "Box 2", "Box 3"],
    "scratch": ["Card A", "Card B", "Card C"],
}
KIND_TITLES = {"wheel": "Spin & Win", "chests": "Pick & Win", "scratch": "Scratch & Win", "quiz": "Quiz & Win"}
DEFAULT_QUESTION = "Which one is right?"

# theme -> (keywords, title noun, button labels); _THEME_KIND says which mechanic plays it.
_THEMES: dict[str, tuple[tuple[str, ...], str, list[str]]] = {
    "wheel": (
        ("wheel", "spin", "roulette", "spinner", "glücksrad", "roue", "ruleta", "rueda", "ruota"),
        "Spin & Win",
        ["Red", "Gold", "Blue"],
    ),
    "quiz": (("quiz", "trivia", "question", "questions", "quizz", "frage", "fragen"), "Quiz & Win", []),
    "gift": (
        ("gift", "gifts", "present", "presents", "box", "boxes", "surprise"),
        "Gift Pick",
        ["Red gift", "Green gift", "Gold gift"],
    ),
    "door": (("door", "doors", "gate", "room"), "Door Dash", ["Door 1", "Door 2", "Door 3"]),
    "card": (("card", "cards", "poker", "deck", "tarot"), "Card Pick", ["Ace", "King", "Queen"]),
    "chest": (
        ("chest", "chests", "treasure", "pirate", "loot", "island", "schatz", "truhe", "schatztruhe", "trésor"),
        "Treasure Hunt",
        ["Gold chest", "Iron chest", "Oak chest"],
    ),
    "cup": (("cup", "cups", "shell", "shells", "hidden", "hide"), "Find It", ["Left cup", "Middle cup", "Right cup"]),
    "egg": (("egg", "eggs", "easter", "bunny"), "Egg Hunt", ["Blue egg", "Pink egg", "Gold egg"]),
    "ticket": (
        ("ticket", "tickets", "scratch", "lottery", "raffle", "rubbel", "rubbellos"),
        "Scratch & Win",
        ["Ticket A", "Ticket B", "Ticket C"],
    ),
    "coffee": (("coffee", "latte", "espresso", "cafe", "barista"), "Brew & Win", ["Latte", "Mocha", "Espresso"]),
    "pizza": (("pizza", "pizzeria", "slice"), "Pizza Pick", ["Margherita", "Pepperoni", "Veggie"]),
    "pumpkin": (("pumpkin", "pumpkins", "ghost", "witch"), "Trick or Treat", ["Pumpkin", "Ghost", "Bat"]),
    "shoe": (("shoe", "shoes", "sneaker", "sneakers", "running"), "Pick Your Pace", ["Runner", "Trail", "Court"]),
}
DEFAULT_THEME_TITLE = "Pick & Win"
_THEME_KIND = {"wheel": "wheel", "ticket": "scratch", "quiz": "quiz"}  # every other theme: chests

# fmt: off
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "get", "got", "has", "have", "in",
    "into", "is", "it", "its", "of", "off", "on", "or", "our", "out", "so", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "to", "up", "us", "was", "we", "were", "what", "when",
    "where", "which", "who", "will", "with", "win", "wins", "won", "you", "your", "yours", "all", "any", "can",
    "new", "now", "more", "most", "very", "just", "one", "two", "three", "make", "makes", "let", "lets", "play",
    "plays", "pick", "tap", "click", "only", "each", "every", "some", "much", "many", "like", "want", "try",
    "tries", "chance", "chances", "quiz", "question", "answer", "answers", "campaign", "brand", "game",
    # German, French, Spanish and Italian function words, so a brief in those languages gives meaningful labels
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "und", "oder", "mit",
    "für", "von", "zum", "zur", "auf", "aus", "bei", "ist", "sind", "wird", "werden", "dein", "deine", "deinen",
    "ihr", "ihre", "unser", "unsere", "sie", "wir", "jetzt", "noch", "nur", "auch", "gewinne", "gewinnen",
    "spiel", "spiele", "dreh", "drehe", "finde", "finden", "hier", "heute", "les", "une", "pour", "avec", "dans",
    "sur", "est", "vous", "votre", "gagnez", "gagner", "los", "las", "una", "para", "con", "por", "del", "gana",
    "ganar", "per", "della", "vinci",
})
# fmt: on
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "single": 1}
_TRIES = re.compile(
    r"\b(\d+|one|two|three|four|five|single)\s+(?:tries|try|chances?|attempts?|guess(?:es)?|goes|shots?)\b"
)
_PRIZE_NOUNS = (
    "discount|prize|coupon|voucher|gift|reward|treat|sample|drink|coffee|pizza|ticket|trip|bonus|deal|offer|"
    "giveaway|upgrade|dessert|meal|box"
)
_PRIZE = re.compile(
    rf"\b(\d+\s?%\s?off|free\s+[a-z]+(?:\s+(?:{_PRIZE_NOUNS}))?|(?:[a-z0-9%-]+\s+){{0,2}}(?:{_PRIZE_NOUNS}))\b"
)
# Letters of any script, digits and %: "Glücksrad" is one word, not "gl" and "cksrad".
_WORD = re.compile(r"[^\W_]+%?")
_ITEM = r"[^\W\d_][^\W_]*(?:[ '-][^\W\d_][^\W_]*){0,2}"
_OPTIONS = re.compile(rf"{_ITEM}(?:\s*,\s*{_ITEM})*\s*,?\s+(?:or|oder|ou|o)\s+{_ITEM}")
_QUESTION = re.compile(r"[^.!?\n]*\?")
MAX_TITLE = 32


@dataclass(frozen=True)
class BriefReading:
    """What a brief says, as the plan step uses it."""

    title: str
    palette: list[str]
    palette_name: str
    mood: str
    tempo_bpm: int
    theme: str
    kind: str  # one of KINDS: the mechanic that plays the theme
    buttons: list[str]
    question: str  # what the quiz asks: the brief's own question, else DEFAULT_QUESTION
    winner_seed: int  # the winning button is buttons[winner_seed % len(buttons)], whichever buttons are used
    tries: int
    prize: str | None


def words_of(brief: str) -> list[str]:
    """The brief's words, lower-cased, in order (digits and % kept, so "20% off" survives)."""
    return _WORD.findall(brief.lower())


def digest(text: str) -> int:
    """A stable integer from text: the same on every machine and Python (unlike hash())."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)


def read_brief(brief: str) -> BriefReading:
    """Everything the plan derives from the brief's words; see the module docstring for how."""
    words = words_of(brief)
    key = " ".join(words)  # punctuation and case do not change the reading
    palette_name = _first_match(words, {name: kws for name, kws in _PALETTE_WORDS.items()})
    palette = (
        list(PALETTES[palette_name])
        if palette_name
        else list(_FALLBACK_PALETTES[digest(key) % len(_FALLBACK_PALETTES)])
    )
    mood = _first_match(words, {m: kws for m, (kws, _) in _MOODS.items()}) or DEFAULT_MOOD
    theme = _first_match(words, {t: kws for t, (kws, _, _) in _THEMES.items()})
    if theme:
        buttons = list(_THEMES[theme][2])
        title_noun = _THEMES[theme][1]
    else:
        buttons = content_words(words)
        title_noun = DEFAULT_THEME_TITLE
    kind = _THEME_KIND.get(theme or "", DEFAULT_KIND)
    if not buttons:  # a quiz: the answers the brief lists ("Lemon, Berry or Mango"), else its own words
        buttons = listed_options(brief) or content_words(words)
    if not theme:
        title_noun = KIND_TITLES[kind]
    tries_match = _TRIES.search(key)
    question = _QUESTION.search(brief)
    return BriefReading(
        title=_title(palette_name, title_noun, brief),
        palette=palette,
        palette_name=palette_name or "hashed",
        mood=mood,
        tempo_bpm=tempo_for(mood, words),
        theme=theme or "words",
        kind=kind,
        buttons=buttons,
        question=" ".join(question.group(0).split()) if question else DEFAULT_QUESTION,
        winner_seed=digest(f"winner:{key}"),
        # Never as many tries as buttons: such a game cannot be lost.
        tries=max(1, min(_tries(tries_match.group(1)), len(buttons) - 1))
        if tries_match
        else default_tries(kind, buttons),
        prize=prize_of(key),
    )


def choices_for(reading: BriefReading, *, kind: str | None, buttons: list[str] | None) -> tuple[str, list[str]]:
    """The game's kind and choice labels: the params' where given, else the brief's.

    A kind the brief's theme is not played as gets that kind's own labels (a treasure brief played as a wheel
    shows "Red, Gold, Blue", not chests on a wheel); a quiz always answers with the brief's own words.
    """
    chosen = kind or reading.kind
    if buttons is not None:
        return chosen, list(buttons)
    if chosen == reading.kind or chosen == "quiz":
        return chosen, list(reading.buttons)
    return chosen, list(KIND_LABELS[chosen])


def default_tries(kind: str, buttons: list[str]) -> int:
    """Tries when nobody says: one for a quiz (a second guess of three would make it easy), else one fewer than
    the choices."""
    return 1 if kind == "quiz" else max(1, len(buttons) - 1)


def tempo_for(mood: str, words: list[str]) -> int:
    """The mood's base tempo, nudged up by words of speed and down by words of rest."""
    base = _MOODS[mood][1] if mood in _MOODS else _MOODS[DEFAULT_MOOD][1]
    faster = sum(1 for w in words if w in _FASTER)
    slower = sum(1 for w in words if w in _SLOWER)
    return max(MIN_TEMPO, min(MAX_TEMPO, base + 12 * faster - 12 * slower))


def content_words(words: list[str], count: int = 3) -> list[str]:
    """Up to `count` distinct words that carry meaning, capitalised; padded so there are always two buttons."""
    picked: list[str] = []
    for word in words:
        if len(word) >= 4 and word not in _STOPWORDS and not word.isdigit() and word.capitalize() not in picked:
            picked.append(word.capitalize())
        if len(picked) == count:
            break
    for filler in ("This one", "That one"):
        if len(picked) >= 2:
            break
        if filler not in picked:
            picked.append(filler)
    return picked


def listed_options(brief: str) -> list[str]:
    """The first list of two to six short options in the brief ("Lemon, Berry or Mango"), as written; or []."""
    for sentence in re.split(r"[.!?:;\n]", brief):
        match = _OPTIONS.search(sentence)
        if not match:
            continue
        items = [i.strip() for i in re.split(r",|\s+(?:or|oder|ou|o)\s+", match.group(0)) if i.strip()]
        if 2 <= len(items) <= 6 and all(len(i.split()) <= 3 for i in items):
            return [i[:1].upper() + i[1:] for i in items]
    return []


def prize_of(text: str) -> str | None:
    """The prize the brief offers ("20% off", "free coffee", "a summer discount" -> "summer discount"), or None."""
    match = _PRIZE.search(text)
    if not match:
        return None
    prize = match.group(1).split()
    # The regex may take up to two words before the noun; drop the ones that are not part of its name.
    while len(prize) > 1 and prize[0] in _STOPWORDS:
        prize = prize[1:]
    return " ".join(prize)


def _first_match(words: list[str], table: dict[str, tuple[str, ...]]) -> str | None:
    owner = {kw: name for name, kws in table.items() for kw in kws}
    return next((owner[w] for w in words if w in owner), None)


def _tries(word: str) -> int:
    n = _NUMBERS.get(word) or int(word)
    return max(1, min(n, 9))


def _title(palette_name: str | None, noun: str, brief: str) -> str:
    if palette_name:
        title = f"{palette_name.capitalize()} {noun}"
    else:
        # No season or style named: the brief's first words, cut on a word boundary.
        first = re.split(r"[.!?:;\n]", brief.strip(), maxsplit=1)[0].strip()
        title = first if first else noun
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE].rsplit(" ", 1)[0].rstrip(",;:-")
    return title[:1].upper() + title[1:] if title else noun
