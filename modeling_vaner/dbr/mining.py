"""Candidate phrases of a tokenized sentence: the queries DBR sends to the knowledge base.

The paper mines phrases with AutoPhrase, which needs a Java/C++ build and a trained quality model; the PyPI keyphrase
libraries (pke, yake, rake-nltk) either download spaCy/NLTK models at run time or rank phrases for documents, not
sentences. None earns its place here, so mining is RAKE-style and dependency-free:

1. the sentence is cut into chunks at stopwords and punctuation (`-`, `/`, `+`, `'` and `.` only join words
   inside a chunk, as in "IL - 2", "E . coli"),
2. every n-gram of a chunk (up to `max_words` words) that neither starts nor ends with a joiner, has at least
   `min_chars` characters and contains a letter is a candidate,
3. candidates are deduplicated case-insensitively and ranked longest first (more words, then more characters, then
   sentence order); the first `max_phrases` are kept.
"""

from dataclasses import dataclass

STOPWORDS = frozenset(
    """a about above after again against all also although am among an and another any are as at be because been
    before being below between both but by can could did do does doing done down due during each either else etc
    even ever every few for from further had has have having he her here hers herself him himself his how however i
    if in into is it its itself just least less many may me might more most much must my myself neither no nor not
    now of off often on once only onto or other others otherwise our ours ourselves out over own per perhaps rather
    same several shall she should since so some such than that the their theirs them themselves then there thereby
    therefore these they this those though through thus to too under until up upon us very via was we well were what
    whatever when whenever where whereas wherein whether which while who whom whose why will with within without
    would yet you your yours yourself yourselves""".split()
)
JOINERS = frozenset("-/+'.")


@dataclass(frozen=True)
class PhraseMiner:
    """Mine candidate phrases from a list of words; see the module docstring for the rules."""

    max_words: int = 4
    max_phrases: int = 12
    min_chars: int = 2

    def __post_init__(self):
        if self.max_words < 1 or self.max_phrases < 1 or self.min_chars < 1:
            raise ValueError(f"max_words, max_phrases and min_chars must be >= 1, got {self}")

    def _chunks(self, tokens: list[str]) -> list[list[str]]:
        chunks, current = [], []
        for token in tokens:
            is_word = any(c.isalnum() for c in token)
            if (is_word and token.casefold() not in STOPWORDS) or (token in JOINERS and current):
                current.append(token)
            else:
                chunks.append(current)
                current = []
        return [chunk for chunk in chunks + [current] if chunk]

    def _usable(self, words: list[str]) -> bool:
        return (words[0] not in JOINERS and words[-1] not in JOINERS
                and len("".join(words)) >= self.min_chars and any(c.isalpha() for w in words for c in w))

    def __call__(self, tokens: list[str]) -> list[str]:
        candidates = {}
        position = 0
        for chunk in self._chunks(tokens):
            for start in range(len(chunk)):
                for end in range(start + 1, min(len(chunk), start + self.max_words) + 1):
                    words = chunk[start:end]
                    if self._usable(words):
                        phrase = " ".join(words)
                        candidates.setdefault(phrase.casefold(), (-len(words), -len(phrase), position, phrase))
                        position += 1
        return [phrase for *_, phrase in sorted(candidates.values())[: self.max_phrases]]
