"""String normalisation of names and mentions, and abbreviation definitions within a document.

`name_key` is the key under which both dictionary names and mentions are looked up: Unicode NFKC, case folded,
Greek letters spelled out ("α" and "alpha" meet), every character that is not a letter or digit a word break
(hyphens, slashes, brackets, apostrophes: "IL-2" and "IL 2", "Crohn's" and "Crohn s" meet), a possessive "'s"
dropped, British spellings folded ("tumour", "haemoglobin", "oesophagus"), each word singularised ("tumors",
"mice", "patients"); every word is kept, in order. `bag_key` is the order-free variant ("cancer of the breast" and
"breast cancer" meet): the distinct words minus a few function words, sorted; `compact_key` the words without
spaces ("IL2" and "IL-2" meet).

`find_abbreviations` is Schwartz and Hearst's algorithm (PSB 2003): in "long form (SF)", the short form's
characters are matched right to left in the preceding words, its first character at the start of a word.
"""

import re
import unicodedata

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta", "θ": "theta",
    "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "ο": "omicron", "π": "pi",
    "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi",
    "ω": "omega",
}
IRREGULAR_PLURALS = {
    "mice": "mouse", "lice": "louse", "geese": "goose", "teeth": "tooth", "feet": "foot", "children": "child",
    "men": "man", "women": "woman", "people": "person", "oxen": "ox", "larvae": "larva", "pupae": "pupa",
    "bacteria": "bacterium", "fungi": "fungus", "nuclei": "nucleus", "bacilli": "bacillus", "cocci": "coccus",
    "stimuli": "stimulus", "foci": "focus", "data": "datum", "criteria": "criterion", "phenomena": "phenomenon",
    "diagnoses": "diagnosis", "metastases": "metastasis", "neuroses": "neurosis", "psychoses": "psychosis",
    "thromboses": "thrombosis", "stenoses": "stenosis", "fibroses": "fibrosis", "carcinomata": "carcinoma",
    "leukaemias": "leukemia", "species": "species",
}
# words ending in "s" that are not plurals (a word ending in "ss", "us", "is" or "os" is never singularised)
NOT_PLURAL = {"as", "is", "was", "has", "gas", "yes", "this", "its", "aids", "lupus", "herpes", "diabetes", "rabies",
              "measles", "mumps", "scabies", "series", "sepsis", "syphilis", "tetanus", "virus", "rickets",
              "shingles", "pertussis", "ascites", "mellitus", "insipidus", "sinus", "fetus", "uterus", "thymus",
              "arthritis", "status", "bus", "plus", "cos", "dos", "trans", "cis", "bis", "tris"}
BAG_STOPWORDS = {"the", "of", "and", "or", "in", "with", "to", "an", "for", "by", "on", "due", "from"}
_BRITISH = ((re.compile(r"(?<=\w{2})our$"), "or"), (re.compile(r"ae"), "e"), (re.compile(r"oe(?=[a-z])"), "e"))
_POSSESSIVE = re.compile(r"['’]s\b")
_NON_WORD = re.compile(r"[\W_]+")


def singular(word: str) -> str:
    """A word's singular by a few English rules ("tumors" -> "tumor", "arteries" -> "artery", "mice" -> "mouse");
    short words, words ending in ss/us/is/os and a list of singular words in -s are kept."""
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if len(word) <= 3 or word in NOT_PLURAL or not word.endswith("s") or word.endswith(("ss", "us", "is", "os")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    return word[:-1]


def words(text: str) -> list[str]:
    """The normalised words of a name or mention (see the module docstring), in order."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(f" {GREEK[c]} " if c in GREEK else c for c in text)
    text = _NON_WORD.sub(" ", _POSSESSIVE.sub("", text))
    return [_american(singular(word)) for word in text.split()]


def _american(word: str) -> str:
    for pattern, replacement in _BRITISH:
        word = pattern.sub(replacement, word)
    return word


def name_key(text: str) -> str:
    """The lookup key of a name or mention: its normalised words joined by spaces ("" for no word)."""
    return " ".join(words(text))


def compact_key(text: str) -> str:
    """The lookup key without spaces ("IL2", "IL-2" and "IL 2" meet)."""
    return "".join(words(text))


def bag_key(text: str) -> str:
    """The order-free lookup key: the distinct normalised words minus function words, sorted."""
    kept = {word for word in words(text) if word not in BAG_STOPWORDS}
    return " ".join(sorted(kept))


def word_substitutions(key: str, synonyms: dict[str, tuple[str, ...]], depth: int = 2) -> set[str]:
    """The keys reached from `key` (a `name_key`) by replacing up to `depth` of its words, one after another, with
    a synonym ("prostate carcinoma" -> "prostatic carcinoma" -> "prostatic neoplasm"); `key` itself left out.

    Args:
        key: the key whose words are replaced.
        synonyms: word -> the words that may replace it (`dictionaries.mine_synonyms`).
        depth: the most words replaced.

    Returns:
        The keys reached, each differing from `key` in 1 to `depth` words.
    """
    reached, frontier = set(), {key}
    for _ in range(depth):
        frontier = {" ".join(ws[:i] + [other] + ws[i + 1:])
                    for ws in (variant.split() for variant in frontier)
                    for i, word in enumerate(ws) for other in synonyms.get(word, ())} - reached - {key}
        reached |= frontier
    return reached


# ------------------------------------------------------------------------------------------- Schwartz-Hearst (2003)
_PARENTHESIS = re.compile(r"\(([^()]{1,40})\)")


def _is_short_form(candidate: str) -> bool:
    return (2 <= len(candidate) <= 10 and len(candidate.split()) <= 2 and candidate[0].isalnum()
            and any(c.isalpha() for c in candidate))


def best_long_form(short_form: str, text: str) -> str | None:
    """The shortest end of `text` whose characters cover the short form's letters and digits right to left, its
    first character at the start of a word (Schwartz and Hearst's `findBestLongForm`); None when there is none."""
    s, position = len(short_form) - 1, len(text) - 1
    while s >= 0:
        c = short_form[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while position >= 0 and (
            text[position].lower() != c or (s == 0 and position > 0 and text[position - 1].isalnum())
        ):
            position -= 1
        if position < 0:
            return None
        position -= 1
        s -= 1
    start = text.rfind(" ", 0, position + 1) + 1
    return text[start:]


def find_abbreviations(text: str) -> dict[str, str]:
    """Short form -> long form for every "long form (SF)" definition in `text` (the first definition of a short
    form wins); the long form is at most min(|SF| + 5, 2 * |SF|) words, longer than the short form, and does not
    start inside the parentheses."""
    found: dict[str, str] = {}
    for match in _PARENTHESIS.finditer(text):
        short_form = match.group(1).strip()
        if ";" in short_form or "," in short_form:
            short_form = re.split(r"[;,]", short_form)[0].strip()
        if not _is_short_form(short_form) or short_form in found:
            continue
        before = text[:match.start()].rstrip()
        sentence_start = max(before.rfind(". "), before.rfind("; "), before.rfind("("))
        before = before[sentence_start + 1:].strip() if sentence_start >= 0 else before
        limit = min(len(short_form) + 5, 2 * len(short_form))
        window = " ".join(before.split()[-limit:])
        long_form = best_long_form(short_form, window)
        if long_form and len(long_form) > len(short_form) and len(long_form.split()) <= limit:
            if not long_form.lower().startswith(short_form.lower() + " "):
                found[short_form] = long_form
    return found


def expand_abbreviations(mention: str, abbreviations: dict[str, str]) -> str:
    """The mention with every short form that is a whole word of it replaced by its long form."""
    if not abbreviations:
        return mention
    if mention in abbreviations:
        return abbreviations[mention]
    expanded = mention
    for short_form, long_form in abbreviations.items():
        if short_form in expanded:
            expanded = re.sub(rf"(?<!\w){re.escape(short_form)}(?!\w)", long_form, expanded)
    return expanded


_GENUS_ABBREVIATION = re.compile(r"^([A-Z])\.\s*([a-z][a-z-]+)$")


_GENUS = re.compile(r"^[A-Z][a-z]{3,}$")


def expand_genus(mention: str, context: str) -> str:
    """A species mention with an abbreviated genus ("E. coli") with the genus of a binomial of the context that
    has the same initial and epithet ("Escherichia coli"); a genus alone ("Bdellovibrio") as the first binomial of
    the context with that genus ("Bdellovibrio bacteriovorus"); else the mention unchanged."""
    mention = mention.strip()
    if _GENUS.match(mention):
        full = re.search(rf"\b{re.escape(mention)} ([a-z][a-z-]{{2,}})\b", context)
        return f"{mention} {full.group(1)}" if full else mention
    match = _GENUS_ABBREVIATION.match(mention)
    if not match:
        return mention
    initial, epithet = match.groups()
    full = re.search(rf"\b({initial}[a-z]+) {re.escape(epithet)}\b", context)
    return f"{full.group(1)} {epithet}" if full else mention
