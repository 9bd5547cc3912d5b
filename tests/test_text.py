"""Words and sentences of text as it comes (`text_vaner`): exact spans, sentence ends, markup, line breaks."""

from modeling_vaner.text_vaner import split_raw_words, split_sentences, split_words


def sentence_texts(text: str) -> list[str]:
    spans = split_words(text)
    return [text[spans[first][0] : spans[last - 1][1]] for first, last in split_sentences(text, spans)]


def test_split_words_keeps_exact_spans():
    text = "TNF-α  and\tIL-2–R."
    spans = split_words(text)
    assert [text[a:b] for a, b in spans] == ["TNF", "-", "α", "and", "IL", "-", "2", "–", "R", "."]


def test_split_sentences_on_end_marks_and_paragraphs():
    text = "Cells grew. Mice died, e.g. two. 5 more.\n\nnext paragraph"
    spans = split_words(text)
    sentences = [" ".join(text[a:b] for a, b in spans[first:last]) for first, last in split_sentences(text, spans)]
    assert sentences == ["Cells grew .", "Mice died , e . g . two .", "5 more .", "next paragraph"]


def test_combining_marks_and_joiners_stay_inside_their_word():
    text = "Me\u0301nie\u0300re fell\u200c; \u2665\ufe0f\u2665\ufe0f TNF-\u03b1"
    assert [text[a:b] for a, b in split_words(text)] == [
        "Me\u0301nie\u0300re", "fell\u200c", ";", "\u2665\ufe0f", "\u2665\ufe0f", "TNF", "-", "\u03b1"
    ]


def test_sentences_do_not_end_at_abbreviations_nor_inside_brackets():
    text = (
        "Mice were infected with S. Typhimurium and treated (Fig. 2) with ciprofloxacin, as reported by Lee et al. "
        "Cells were lysed."
    )
    assert sentence_texts(text) == [text[: text.index(" Cells")], "Cells were lysed."]
    text = "Strains (e.g. E. coli, cf. Table 1. Values vs. controls) grew. NF-kappa B. Then approx. 5 died, i.e. all."
    assert sentence_texts(text) == [
        "Strains (e.g. E. coli, cf. Table 1. Values vs. controls) grew.",
        "NF-kappa B.",
        "Then approx. 5 died, i.e. all.",
    ]
    text = "A stray ( bracket. Does not hide this end. Xanthomonas campestris pv. Campestris sp. Nov. grew."
    assert sentence_texts(text) == [
        "A stray ( bracket.", "Does not hide this end.", "Xanthomonas campestris pv. Campestris sp. Nov. grew."
    ]


def test_markup_tags_are_no_words_and_character_references_are_read_as_their_character():

    text = 'in <a href="x" id=y>BRCA1</a> gene</span> &beta;-catenin &Delta;F508 10&nbsp;mg p<0.05 x<y and z>w'
    spans, words, breaks, markup = split_raw_words(text)
    assert [text[a:b] for a, b in spans] == [
        "in", "BRCA1", "gene", "&beta;", "-", "catenin", "&Delta;F508", "10", "mg",
        "p", "<", "0", ".", "05", "x", "<", "y", "and", "z", ">", "w",  # comparisons are no tags
    ]
    assert words[3] == "\u03b2" and words[6] == "\u0394F508"  # what the model reads
    assert breaks == markup == (1, 2, 3)  # a tag between two words is a break


def test_line_breaks_and_tabs_are_breaks_except_inside_a_word_hyphenated_at_the_line_end():

    text = "Gene\tDisease\nhuman\nCFTR Mus muscu-\nlus and hydroxy-\nchloroquine, IL-\n2 and TNF -\nalpha mice-\n\nrats"
    spans, words, breaks, markup = split_raw_words(text, hyphens="guess")
    raw = [text[a:b] for a, b in spans]
    assert raw[:7] == ["Gene", "Disease", "human", "CFTR", "Mus", "muscu-\nlus", "and"]
    assert words[5:9] == ["musculus", "and", "hydroxychloroquine", ","]  # a typesetter's hyphen: one word
    assert words[9:12] == ["IL", "-", "2"] and 11 not in breaks  # kept as in a compound, yet one entity may span it
    assert [raw[index] for index in breaks] == ["Disease", "human", "CFTR", "alpha", "rats"]  # space before "-\n",
    # and a blank line after one, are no hyphenated word
    assert markup == () and split_raw_words("a</i>\nb").markup == ()  # a line break with a tag is a line break
    assert split_raw_words("IL-\n2", hyphens="join").words == ["IL2"]
    assert split_raw_words("muscu-\nlus", hyphens="keep").words == ["muscu", "-", "lus"]
    assert split_raw_words("muscu\u00ad\nlus", hyphens="keep").words == ["musculus"]  # a soft hyphen always joins
