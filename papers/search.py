"""Search that understands Chinese, from an index, on SQLite and PostgreSQL.

Neither database segments Chinese: PostgreSQL's parser takes a run of Hanzi as
one word and SQLite's trigram tokenizer needs three characters, so it cannot
find two-character words such as 幻觉 or 对齐. So the site tokenises text itself
and hands the databases plain space-separated tokens:

- a run of Chinese characters becomes its overlapping bigrams (检索增强 →
  检索 索增 增强), a lone character stays as it is;
- other text becomes lower-case words of letters and digits;
- an arXiv id becomes one token (2406.15877 → arxiv240615877).

A query is tokenised the same way: each Chinese run must match as a phrase of
its bigrams, English words of four letters or more match as prefixes
(hallucination finds hallucinations), a quoted phrase matches as a phrase.

Each entry has a ``SearchDocument`` row (title, keywords = tags, section,
authors and arXiv id, body = summary) written whenever the entry, its tags, its
section or a tag changes. SQLite indexes it with an FTS5 table kept in step
by triggers, ranked with bm25; PostgreSQL with a weighted ``tsvector`` kept
in the document's row and a GIN index, ranked with ts_rank (its window of
matches is found range by range, ``_postgres_window``). Title matches weigh
most. Public filtering is
not in the index: queries start from ``Entry.objects.published()``, so a
scheduled issue becomes findable at its time and drafts never are.
"""

import functools
import html
import itertools
import math
import re
import unicodedata
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from types import SimpleNamespace

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorCombinable,
    SearchVectorField,
)
from django.core.exceptions import ValidationError
from django.db import connection, connections, reset_queries, transaction
from django.db.models import BooleanField, Case, F, Func, Max, Min, When
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe

from papers import arxiv

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECES = re.compile(rf"[{HAN}]+|[a-z0-9]+")
_HAN_CHARACTER = re.compile(rf"[{HAN}]")
_ARXIV_IN_TEXT = re.compile(rf"(?<![\d.])({arxiv.NEW_STYLE})(?:v\d+)?(?![\d])")
MAX_QUERY_TERMS = 12
PREFIX_MIN_LENGTH = 4


@functools.cache
def _traditional_to_simplified():
    import opencc  # loaded once per process, at the first Chinese text

    return opencc.OpenCC("t2s")


def fold(text):
    """``text`` as search compares it: width folded (NFKC: ＲＡＧ is RAG),
    lower case, and Traditional Chinese as Simplified (OpenCC's t2s), in the
    index and in queries alike, so 幻覺檢測 finds what 幻觉检测 finds."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    if _HAN_CHARACTER.search(text):
        text = _traditional_to_simplified().convert(text)
    return text


def _arxiv_token(arxiv_id):
    return "arxiv" + re.sub(r"[^a-z0-9]", "", arxiv_id.lower())


def _bigrams(run):
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokens(text):
    """The index tokens of ``text``, in order."""
    text = fold(text)
    found = [_arxiv_token(m.group(1)) for m in _ARXIV_IN_TEXT.finditer(text)]
    text = _ARXIV_IN_TEXT.sub(" ", text)
    for piece in _PIECES.findall(text):
        found.extend(_bigrams(piece) if re.match(rf"[{HAN}]", piece) else [piece])
    return found


def document_text(text):
    return " ".join(tokens(text))


@dataclass(frozen=True)
class Term:
    """A phrase of tokens a document must hold in a row; the last one maybe a prefix."""

    tokens: tuple
    prefix: bool = False


@dataclass(frozen=True)
class Clause:
    """One part of a query that every result holds: ``term`` as typed, or one
    of its glossary forms (``alternatives``, unless the reader asked for the
    exact words). ``words``: for a Chinese run of several words (rjieba cuts
    幻觉检测 into 幻觉 and 检测), each word's terms (the word, then its
    glossary forms), which the relaxed levels match apart; for typed words
    that together name a glossary form (long context), each of them; empty
    otherwise."""

    term: Term
    alternatives: tuple = ()
    words: tuple = ()
    text: str = ""  # as typed, for the page's messages
    word_texts: tuple = ()  # the words, as typed


@dataclass(frozen=True)
class ParsedQuery:
    clauses: tuple
    excluded: tuple = ()  # Terms no result may hold (``-word``)
    words: tuple = ()  # what to highlight: as typed, and the forms searched too
    expanded: tuple = ()  # the glossary forms searched too, as the glossary writes them
    expanded_apart: tuple = ()  # those of the words of a run, searched once it relaxes

    def __bool__(self):
        return bool(self.clauses)

    @property
    def terms(self):
        """The terms as typed, one per clause."""
        return tuple(clause.term for clause in self.clauses)

    @property
    def relaxable(self):
        """Whether a level looser than the phrase exists (a run of several words)."""
        return any(clause.words for clause in self.clauses)


# How a query matches, strictest first: each Chinese run as a phrase; its words
# within NEAR_TOKENS tokens of each other; its words anywhere in the entry.
PHRASE, NEAR, ANYWHERE = 0, 1, 2
NEAR_TOKENS = 8
# A query relaxes when its phrases find fewer entries than this.
RELAX_BELOW = 10
# A Chinese run is cut into words only up to this length (a pasted paragraph is not).
WORDS_OF_A_RUN_MAX = 16
_QUERY_PARTS = re.compile(r'(-?)"([^"]*)"|(\S+)')


def glossary_key(text):
    """A glossary form or a run of query words as both are compared: folded,
    its words and Chinese runs joined by single spaces."""
    return " ".join(_PIECES.findall(fold(text)))


def _term(piece):
    """The term of one piece of a query: a Chinese run's bigrams, or a word."""
    if _HAN_CHARACTER.match(piece):
        return Term(tuple(_bigrams(piece)), prefix=len(piece) == 1)
    return Term((piece,), prefix=len(piece) >= PREFIX_MIN_LENGTH)


def _phrase(text, prefix=False):
    """The term of a glossary form or a quoted phrase: its tokens in a row;
    with ``prefix``, a last English word of PREFIX_MIN_LENGTH letters or more
    is a prefix (the glossary's hallucination finds hallucinations)."""
    found = tokens(text)
    if not found:
        return None
    last = found[-1]
    return Term(
        tuple(found),
        prefix and len(last) >= PREFIX_MIN_LENGTH and last.isalpha() and last.isascii(),
    )


@functools.cache
def _word_cutter():
    import rjieba  # loaded once per process, at the first run of several words

    return rjieba


def cut(text):
    """``text`` cut into words by rjieba, every character kept (spaces and
    punctuation are words of their own)."""
    return _word_cutter().cut(text)


def _words_of_run(run):
    """A Chinese run's words (rjieba), or () when it is one word or too long."""
    if len(run) < 3 or len(run) > WORDS_OF_A_RUN_MAX:
        return ()
    words = [word for word in cut(run) if word.strip()]
    return tuple(words) if len(words) > 1 else ()


def parse_query(query, glossary=None, relax=True):
    """Split a reader's query into clauses; quoted text is one phrase,
    ``-word`` or ``-"a phrase"`` excludes.

    ``glossary`` ({glossary_key: forms}, ``GlossaryTerm.objects.forms_by_key()``)
    adds each clause's other forms; None searches the exact words only. A run
    of query words naming a form (``retrieval augmented generation``) is one
    clause. ``relax`` false keeps every Chinese run a phrase (no words apart).
    """
    units, excluded = [], []  # units: (key, term, words of a Chinese run)
    for minus, quoted, bare in _QUERY_PARTS.findall(query or ""):
        negative = bool(minus) or (bare.startswith("-") and len(bare) > 1)
        part = quoted if (quoted or minus) else bare.removeprefix("-" if negative else "")
        try:
            term = Term((_arxiv_token(arxiv.normalize_arxiv_id(part)),))
        except ValidationError:  # not an arXiv id: ordinary text
            term = None
        if term is not None or quoted or minus:
            term = term or _phrase(part)
            found = [(glossary_key(part), term, (), part.strip())] if term else []
        else:
            found = [
                (
                    piece,
                    _term(piece),
                    _words_of_run(piece) if relax and _HAN_CHARACTER.match(piece) else (),
                    piece,
                )
                for piece in _PIECES.findall(fold(part))
            ]
        if negative:
            excluded += [term for _, term, _, _ in found]
        else:
            units += found
    clauses, words, expanded, apart = [], [], [], []
    index = 0
    while index < len(units) and len(clauses) < MAX_QUERY_TERMS:
        # The longest run of units that the glossary names, else one unit.
        length, forms = 1, []
        for end in range(min(len(units), index + 4), index, -1):
            key = " ".join(unit[0] for unit in units[index:end])
            if glossary and key in glossary:
                length, forms = end - index, glossary[key]
                break
        taken = units[index : index + length]
        typed_key = " ".join(unit[0] for unit in taken)
        forms = [form for form in forms if glossary_key(form) != typed_key]
        alternatives = tuple(
            dict.fromkeys(term for form in forms if (term := _phrase(form, prefix=True)))
        )
        if length == 1:  # one unit: a Chinese run's words, each with its forms
            term, word_texts = taken[0][1], taken[0][2]
            run_words = tuple(
                (_term(word), *_alternatives_of(_forms_of(word, glossary))) for word in word_texts
            )
            apart += [form for word in word_texts for form in _forms_of(word, glossary)]
        else:  # typed words naming a form: the phrase first, the words apart once relaxed
            term, word_texts = _phrase(typed_key), tuple(unit[3] for unit in taken)
            run_words = tuple((unit[1],) for unit in taken) if relax else ()
        expanded += forms
        clauses.append(
            Clause(
                term,
                alternatives,
                run_words,
                " ".join(unit[3] for unit in taken),
                word_texts if run_words else (),
            )
        )
        words += [unit[3] for unit in taken] + list(word_texts)
        index += length
    return ParsedQuery(
        tuple(clauses),
        tuple(excluded[:MAX_QUERY_TERMS]),
        tuple(dict.fromkeys(word for word in [*words, *expanded, *apart] if word)),
        _one_per_key(expanded),
        _one_per_key(apart),
    )


def _one_per_key(forms):
    """``forms`` without those that read the same (long context, long-context)."""
    return tuple({glossary_key(form): form for form in reversed(forms)}.values())[::-1]


def _forms_of(word, glossary):
    """The glossary's other forms of one word of a Chinese run."""
    key = glossary_key(word)
    return [form for form in (glossary or {}).get(key, []) if glossary_key(form) != key]


def _alternatives_of(forms):
    """Glossary forms as terms, without repeats."""
    return tuple(dict.fromkeys(term for form in forms if (term := _phrase(form, prefix=True))))


def glossary():
    """The glossary as ``parse_query`` reads it (one query)."""
    from papers.models import GlossaryTerm

    return GlossaryTerm.objects.forms_by_key()


# Matching ------------------------------------------------------------------


def _fts5_term(term, prefix_words=None):
    """A term as FTS5 reads it: a phrase, whose last word, when a prefix, is
    written as the words it begins (``prefix_words``, as for PostgreSQL)
    where they are known and few, else as FTS5's prefix (``*``)."""
    head = "".join(token + " " for token in term.tokens[:-1])
    begun = (prefix_words or {}).get(term.tokens[-1]) if term.prefix else None
    if begun:
        return "(" + " OR ".join(f'"{head}{word}"' for word in begun) + ")"
    return '"' + " ".join(term.tokens) + '"' + ("*" if term.prefix else "")


def _fts5_any(terms, prefix_words=None):
    return "(" + " OR ".join(_fts5_term(term, prefix_words) for term in terms) + ")"


def _fts5_query(parsed, level=PHRASE, prefix_words=None):
    """The FTS5 query of ``parsed`` at ``level``; ``prefix_words`` maps a
    prefix to the words it begins (``_prefix_words``).

    FTS5 reads a prefix (hallucination*) by merging the lists of every word
    it begins, across the whole index, before it can skip to the window; the
    words themselves it reads as far as it needs. At 100,000 entries that
    made a query with three of the glossary's prefixes 8 ms to find its
    window and 21 ms to rank it, against 0.7 and 5 ms with the words
    (docs/search-benchmark.md).
    """
    parts = []
    for clause in parsed.clauses:
        options = [_fts5_term(term, prefix_words) for term in (clause.term, *clause.alternatives)]
        if level != PHRASE and clause.words:
            if level == NEAR:
                # NEAR() takes phrases only: its words keep FTS5's own prefix.
                near = " ".join(_fts5_term(word[0]) for word in clause.words)
                options.append(f"NEAR({near}, {NEAR_TOKENS})")
            else:
                options.append(
                    "(" + " AND ".join(_fts5_any(word, prefix_words) for word in clause.words) + ")"
                )
        parts.append("(" + " OR ".join(options) + ")")
    query = " AND ".join(parts)
    if parsed.excluded:
        query = f"({query}) NOT {_fts5_any(parsed.excluded, prefix_words)}"
    return query


def _ts_term(term, phrases=True, prefix_words=None):
    words = [f"'{token}'" for token in term.tokens]
    begun = (prefix_words or {}).get(term.tokens[-1]) if term.prefix else None
    if begun:
        words[-1] = "(" + " | ".join(f"'{word}'" for word in begun) + ")"
    elif term.prefix:
        words[-1] += ":*"
    return "(" + (" <-> " if phrases else " & ").join(words) + ")"


def _ts_near(first, second):
    """``first`` and ``second`` within NEAR_TOKENS tokens, in either order."""
    return " | ".join(
        f"({a} <{distance}> {b})"
        for distance in range(1, NEAR_TOKENS + 1)
        for a, b in ((first, second), (second, first))
    )


def _tsquery(parsed, level=PHRASE, phrases=True, prefix_words=None):
    """The tsquery of ``parsed`` at ``level``.

    For the GIN index (PostgreSQL's window): with ``phrases`` false each
    phrase is only the AND of its tokens, which the index answers without
    reading a document (it keeps no positions), and only words are excluded
    (the exact query, tested on the candidates, excludes phrases);
    ``prefix_words`` maps a prefix to the words it begins, written instead
    of the prefix.
    """

    def term(t):
        return _ts_term(t, phrases, prefix_words)

    parts = []
    for clause in parsed.clauses:
        options = [term(t) for t in (clause.term, *clause.alternatives)]
        if level != PHRASE and clause.words:
            if level == NEAR and phrases:
                heads = [term(word[0]) for word in clause.words]
                options.append(
                    "("
                    + " & ".join(f"({_ts_near(a, b)})" for a, b in itertools.pairwise(heads))
                    + ")"
                )
            else:
                words = ["(" + " | ".join(term(t) for t in word) + ")" for word in clause.words]
                options.append("(" + " & ".join(words) + ")")
        parts.append("(" + " | ".join(options) + ")")
    query = " & ".join(parts)
    # Loose, only what it still means exactly: excluded words (not phrases).
    excluded = [t for t in parsed.excluded if phrases or len(t.tokens) == 1]
    if excluded:
        query = f"({query}) & !(" + " | ".join(term(t) for t in excluded) + ")"
    return query


# Relevance is computed for at most this many matches of a query.
SEARCH_WINDOW = 1000

# PostgreSQL finds the window in ranges of entry ids, newest first
# (docs/search-benchmark.md); the first range is this many ids.
FIRST_SPAN = 1500
# Each PostgreSQL vector also holds the block of ids its entry's id falls
# in, a lexeme no text makes ("~98" for ids 98,000 to 98,999), so that the
# GIN index can be asked for the matches in a range of ids. (Changed, it
# needs ``manage.py rebuild_search_index``.)
ID_BLOCK = 1000
# A range of more ids than this is asked of the index without its blocks (the
# matches anywhere, then kept in the range): the index tests every document of
# the blocks it is given, and a range this long is only read for a query whose
# matches are rare, so that the matches anywhere are fewer.
BLOCKED_SPAN_MAX = 20 * ID_BLOCK
# The full-text index is asked for the words a prefix begins (SearchWord) when
# there are at most this many, for the prefix itself when there are more.
PREFIX_WORDS_MAX = 64


@dataclass
class Found:
    """What a search found: ``entries``, best first, and ``relaxed``: PHRASE,
    unless the phrases found nothing and the words apart did; then the level
    of the best result, NEAR or ANYWHERE (ANYWHERE when nothing was found),
    which the page names."""

    entries: object
    relaxed: int = PHRASE


def search(entries, query):
    """``entries`` narrowed to those matching ``query``, best first (``find``)."""
    return find(entries, query).entries


def find(entries, query):
    """``entries`` narrowed to those matching ``query`` (a ``ParsedQuery``;
    an empty one matches nothing), best first.

    First each Chinese run must match as a phrase. When that finds fewer than
    RELAX_BELOW entries and a run has several words, the words are matched
    apart too: ranked phrase matches first, then words near each other
    (NEAR_TOKENS), then words anywhere, each level by relevance (title
    weighs most, then tags, section and authors, then the summary).

    Only the SEARCH_WINDOW most recently added matches (the highest ids, among
    ``entries``, so after the page's other filters) are ranked and counted.
    Ranking costs time in proportion to the matches (bm25 or ts_rank reads
    each one), and a word found in most entries, such as 模型, matches tens of
    thousands: ranked whole, it took 0.4 s on SQLite and 1.4 s on PostgreSQL
    at 100,000 entries (docs/search-benchmark.md). For such a word the newest
    papers are what a reader wants anyway; a rarer query has fewer matches
    than the window and is ranked whole. ``window_is_full(count)`` tells a page
    to say that it shows the newest matches only.
    """
    if not query:
        return Found(entries.none())
    if connection.vendor == "postgresql":
        ids = _postgres_window(entries, query, PHRASE)
        strict = len(ids)
        if strict >= RELAX_BELOW or not query.relaxable:
            return Found(_postgres_ranked(entries, query, ids, PHRASE))
        ids = _postgres_window(entries, query, ANYWHERE)
        ranked = _postgres_ranked(entries, query, ids, ANYWHERE)
        relaxed = PHRASE if strict else _best_level_of(ranked) if ids else ANYWHERE
        return Found(ranked, relaxed)
    words = _prefix_words(query, entries.db)
    strict = RELAX_BELOW
    if query.relaxable:
        phrases = entries.filter(fts_row__match=_fts5_query(query, PHRASE, words)).order_by()
        strict = len(phrases.values_list("pk", flat=True)[:RELAX_BELOW])
    level = ANYWHERE if strict < RELAX_BELOW else PHRASE
    matches = entries.filter(fts_row__match=_fts5_query(query, level, words))
    # Found in the index's own rowid order and bounded on that rowid, so that
    # FTS5 reads only the matches from the window's start on.
    window = matches
    if start := _window_start(matches.order_by("-fts_row")):
        window = matches.filter(fts_row__gte=start)
    window = window.annotate(rank=F("fts_row__rank"))  # bm25: lower is better
    if level == PHRASE:
        return Found(window.order_by("rank", "-issue__published_at", "pk"))
    levels = Case(
        When(
            pk__in=entries.filter(fts_row__match=_fts5_query(query, PHRASE, words)).values("pk"),
            then=PHRASE,
        ),
        When(
            pk__in=entries.filter(fts_row__match=_fts5_query(query, NEAR, words)).values("pk"),
            then=NEAR,
        ),
        default=ANYWHERE,
    )
    ranked = window.annotate(match_level=levels).order_by(
        "match_level", "rank", "-issue__published_at", "pk"
    )
    return Found(ranked, _best_level_of(ranked) if strict == 0 else PHRASE)


def _best_level_of(ranked):
    """The best level among results found when no phrase matched (NEAR or ANYWHERE)."""
    best = ranked.values_list("match_level", flat=True)[:1]
    return next(iter(best), ANYWHERE)


def _postgres_ranked(entries, query, ids, level):
    """PostgreSQL: the window's entries, ranked by ts_rank (at ANYWHERE, by
    level first); their count is known without asking again."""
    if not ids:
        return entries.none()
    vector = F("search_document__vector")
    rank = SearchRank(vector, _ts(query, level), weights=[0.1, 0.2, 0.4, 1.0])
    results = entries.filter(_AmongIds(ids)).annotate(rank=rank)
    order = ["-rank", "-issue__published_at", "pk"]
    if level != PHRASE:
        results = results.annotate(
            match_level=Case(
                When(_Matches(vector, _ts(query, PHRASE)), then=PHRASE),
                When(_Matches(vector, _ts(query, NEAR)), then=NEAR),
                default=ANYWHERE,
            )
        )
        order.insert(0, "match_level")
    return results.order_by(*order).with_known_count(len(ids))


def _ts(query, level):
    return SearchQuery(_tsquery(query, level), config="simple", search_type="raw")


class _AmongIds(Func):
    """``pk = ANY(%s)``: the window's thousand ids as one array parameter,
    where ``pk__in`` would send a thousand (the page's query and each of its
    facets spent some 3 ms more on them), handed to the driver as they are,
    not converted field by field."""

    output_field = BooleanField()

    def __init__(self, ids):
        super().__init__(F("pk"))
        self.ids = list(ids)

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.get_source_expressions()[0])
        return f"{column} = ANY(%s)", (*params, self.ids)


class _Matches(Func):
    """``vector @@ query`` written as a function call, which no index
    answers: the exact test of a phrase, on the documents the GIN index
    found for its tokens (it keeps no positions)."""

    function = "ts_match_vq"
    output_field = BooleanField()


class _MatchesWithin(Func):
    """``vector @@ (query && blocks)``: what the GIN index answers, for the
    documents of the id blocks ``blocks`` (a tsquery's text, cast as it is:
    its lexemes must not go through the text parser, which drops "~")."""

    output_field = BooleanField()

    def __init__(self, vector, query, blocks):
        super().__init__(vector, query)
        self.blocks = blocks

    def as_sql(self, compiler, connection, **extra_context):
        (vector, vector_params), (query, query_params) = (
            compiler.compile(part) for part in self.get_source_expressions()
        )
        if self.blocks is None:
            return f"{vector} @@ {query}", (*vector_params, *query_params)
        sql = f"{vector} @@ ({query} && %s::tsquery)"
        return sql, (*vector_params, *query_params, self.blocks)


def _blocks(low, high):
    """The tsquery text of the id blocks that ids ``low`` to ``high - 1`` fall in."""
    return " | ".join(f"'~{block}'" for block in range(low // ID_BLOCK, (high - 1) // ID_BLOCK + 1))


def _postgres_window(entries, query, level):
    """The ids of the SEARCH_WINDOW newest matches among ``entries`` of
       ``query`` at ``level`` (PHRASE or ANYWHERE), newest first.
    The ids are read in ranges, newest first,
       until the window is full: first the newest FIRST_SPAN ids, then each
       range sized from the matches found so far to hold about what is still
       missing (nothing found yet: four times what was read). The GIN index is
       asked for the matches in a range, through the id blocks its vectors hold:
       it then reads no document outside the range, whether the query matches
       one entry in two or one in a thousand. docs/search-benchmark.md has the
       figures.
    """
    bounds = entries.model._default_manager.using(entries.db).aggregate(
        oldest=Min("pk"), newest=Max("pk")
    )
    if bounds["newest"] is None:
        return []
    # The index is asked for the documents holding every token of a phrase;
    # only those in the range are then tested for the phrase itself.
    words = _prefix_words(query, entries.db)
    loose = SearchQuery(
        _tsquery(query, level, phrases=False, prefix_words=words),
        config="simple",
        search_type="raw",
    )
    exact = any(len(term.tokens) > 1 for term in _every_term(query))
    vector = F("search_document__vector")
    end = bounds["newest"] + 1
    found, high, span = [], end, FIRST_SPAN
    while True:
        low = max(high - span, bounds["oldest"])
        blocks = _blocks(low, high) if high - low <= BLOCKED_SPAN_MAX else None
        part = entries.filter(
            _MatchesWithin(vector, loose, blocks),
            pk__gte=low,
            pk__lt=high,
            # Both tables bounded, so that the planner may start from either.
            search_document__pk__gte=low,
            search_document__pk__lt=high,
        )
        if exact:
            part = part.filter(_Matches(vector, _ts(query, level)))
        in_range = part.order_by().values_list("pk", flat=True)
        found += sorted(in_range, reverse=True)[: SEARCH_WINDOW - len(found)]
        if len(found) >= SEARCH_WINDOW or low == bounds["oldest"]:
            return found
        # The next range: a quarter more than the density so far predicts,
        # and at least half of what was read (a density that falls with age
        # costs a few ranges, never one per entry); with nothing found yet (a
        # rare query, or a topic of older papers), four times what was read.
        read, missing = end - low, SEARCH_WINDOW - len(found)
        predicted = math.ceil(missing * read / len(found) * 1.25) if found else read * 4
        span, high = max(predicted, read // 2), low


def _prefix_words(query, using):
    """{prefix: the words it begins} for the query's Latin prefixes that
    begin at most PREFIX_WORDS_MAX words (papers.models.SearchWord)."""
    from papers.models import SearchWord

    found = {}
    for term in _every_term(query):
        prefix = term.tokens[-1]
        if term.prefix and not re.match(rf"[{HAN}]", prefix) and prefix not in found:
            words = SearchWord.objects.using(using)
            if connections[using].vendor == "sqlite":
                # SQLite compares text byte by byte, so the words a prefix of
                # a-z and 0-9 begins are a range of the key, which its index
                # reads (LIKE reads every word: 10 ms at 90,000 words).
                words = words.filter(word__gte=prefix, word__lt=prefix + "\x7f")
            else:
                words = words.filter(word__startswith=prefix)
            found[prefix] = list(words.values_list("word", flat=True)[: PREFIX_WORDS_MAX + 1])
    return {prefix: words for prefix, words in found.items() if len(words) <= PREFIX_WORDS_MAX}


def _every_term(query):
    """Every term of ``query``: typed, glossary forms, words of its runs, excluded."""
    for clause in query.clauses:
        yield clause.term
        yield from clause.alternatives
        for word in clause.words:
            yield from word
    yield from query.excluded


def _window_start(newest_first):
    """The id of the SEARCH_WINDOW-th newest match, or None when there are fewer.

    One query, run now: the planner then sees a number, not a subquery, and
    estimates the window's size right.
    """
    nth = newest_first.values_list("pk", flat=True)[SEARCH_WINDOW - 1 : SEARCH_WINDOW]
    return next(iter(nth), None)


def window_is_full(count):
    """Whether a search found at least SEARCH_WINDOW matches, and ranked only those."""
    return count >= SEARCH_WINDOW


def postgres_vector():
    """The weighted tsvector of a search document (PostgreSQL), with the
    block of ids its entry's id falls in (ID_BLOCK)."""
    return (
        SearchVector("title", weight="A", config="simple")
        + SearchVector("keywords", weight="B", config="simple")
        + SearchVector("body", weight="C", config="simple")
        + _IdBlock()
    )


class _IdBlock(SearchVectorCombinable, Func):
    """The lexeme "~<entry id // ID_BLOCK>", as a tsvector of its own (made
    from an array, so that no text parser drops the "~"). It weighs nothing
    in the ranking: no query of a reader holds it."""

    output_field = SearchVectorField()

    def __init__(self):
        super().__init__(F("pk"))

    def as_sql(self, compiler, connection, **extra_context):
        entry_id, params = compiler.compile(self.get_source_expressions()[0])
        return f"array_to_tsvector(ARRAY['~' || ({entry_id} / {int(ID_BLOCK)})])", params


# Snippets --------------------------------------------------------------------

SNIPPET_CHARS = 120


def highlight(text, words, limit=None):
    """``text`` (plain) escaped, cut around the first match, matches in <mark>."""
    text = " ".join((text or "").split())
    pattern = _words_pattern(words)
    start = 0
    if limit and len(text) > limit:
        match = pattern.search(text) if pattern else None
        start = max(0, match.start() - limit // 3) if match else 0
        text = (
            ("…" if start else "")
            + text[start : start + limit]
            + ("…" if start + limit < len(text) else "")
        )
    if not pattern:
        return mark_safe(html.escape(text))
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [
            html.escape(text[last : match.start()]),
            "<mark>",
            html.escape(match.group(0)),
            "</mark>",
        ]
        last = match.end()
    out.append(html.escape(text[last:]))
    return mark_safe("".join(out))


def _words_pattern(words):
    words = sorted((w for w in words if w), key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def snippet(entry, words):
    """A short extract of the entry's summary around what matched, as text:
    the stored HTML's tags stripped and its entities decoded (``highlight``
    escapes it again), so "<" reads "<", not "&lt;"."""
    return highlight(html.unescape(strip_tags(entry.summary_html)), words, limit=SNIPPET_CHARS)


# Indexing ----------------------------------------------------------------------


def document_for(entry, tag_names=None):
    """The tokenised fields of an entry's search document.

    ``tag_names`` spares the query for the entry's tags when the caller already
    holds them (``rebuild_index`` reads every tag link in one query, and the
    synthetic archive has its tags in memory).
    """
    if tag_names is None:
        tag_names = [tag.name for tag in entry.tags.all()]
    keywords = " ".join([*tag_names, entry.section.name, entry.authors, entry.arxiv_id])
    return {
        "title": document_text(entry.title),
        "keywords": document_text(keywords),
        "body": document_text(entry.summary),
    }


def index_entries(entry_ids):
    """Write the search documents of these entries, the few one edit touches
    (SQLite's triggers and the PostgreSQL vector update keep the full-text
    index in step). Every entry at once goes through ``rebuild_index``."""
    from papers.models import Entry, SearchDocument

    entry_ids = list(entry_ids)
    if not entry_ids:
        return
    entries = Entry.objects.filter(pk__in=entry_ids).select_related("section")
    for entry in entries.prefetch_related("tags"):
        SearchDocument.objects.update_or_create(entry=entry, defaults=document_for(entry))
    if connection.vendor == "postgresql":
        SearchDocument.objects.filter(entry_id__in=entry_ids).update(vector=postgres_vector())


def documents(entries):
    """Unsaved ``SearchDocument`` rows of ``(entry, tag names)`` pairs, one by one."""
    from papers.models import SearchDocument

    for entry, tag_names in entries:
        yield SearchDocument(entry_id=entry.pk, **document_for(entry, tag_names))


def _every_entry(batch_size):
    """Every entry in id order with its tag names: the tag links in one query,
    the entries (with their sections) read ``batch_size`` at a time."""
    from papers.models import Entry, TaggedEntry

    tag_names = defaultdict(list)
    links = TaggedEntry.objects.order_by("tag__name").values_list("content_object_id", "tag__name")
    for entry_id, name in links.iterator(chunk_size=5000):
        tag_names[entry_id].append(name)
    entries = Entry.objects.select_related("section").order_by("pk")
    for entry in entries.iterator(chunk_size=batch_size):
        yield entry, tag_names[entry.pk]


@contextmanager
def _no_phase(name, total):
    yield SimpleNamespace(step=lambda done: None)


def rebuild_index(new_documents=None, *, batch_size=1000, fts_rebuild=True, phase=_no_phase):
    """Replace every search document, in bulk, in one transaction; returns how many.

    The one bulk writer of the index: ``rebuild_search_index``, a restore from
    backup and the synthetic archive all write through it (``index_entries``
    is for the few entries one edit touches). ``new_documents`` is a list of
    unsaved ``SearchDocument`` rows (see ``documents``); by default those of
    every entry in the database, made ``batch_size`` at a time.

    They are inserted with ``bulk_create``, ``batch_size`` rows per statement.
    On SQLite with ``fts_rebuild`` the FTS5 triggers are dropped meanwhile and
    the index is rebuilt once from the documents table, which is faster than a
    trigger per row (the search benchmark can time both); without it the
    triggers keep the index in step. On PostgreSQL the tsvectors are computed by ``UPDATE``,
    a batch at a time.

    ``phase(name, total)`` (a context manager whose value has ``step(done)``)
    is entered for each step of the work: "search index", then "FTS5 rebuild"
    or "tsvectors". The synthetic archive reports progress and times with it.
    """
    from papers.models import Entry, SearchDocument

    if new_documents is None:
        total = Entry.objects.count()
        new_documents = documents(_every_entry(batch_size))
    else:
        total = len(new_documents)
        new_documents = iter(new_documents)
    rebuild = fts_rebuild and connection.vendor == "sqlite"
    entry_ids = []
    with transaction.atomic(), _without_fts_triggers() if rebuild else nullcontext():
        SearchDocument.objects.all().delete()
        with phase("search index", total) as progress:
            while batch := list(itertools.islice(new_documents, batch_size)):
                SearchDocument.objects.bulk_create(batch)
                reset_queries()  # with DEBUG on, the logged batches would fill the memory
                entry_ids.extend(document.entry_id for document in batch)
                progress.step(len(entry_ids))
        if rebuild:
            with phase("FTS5 rebuild", 1), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO papers_searchdocument_fts(papers_searchdocument_fts) "
                    "VALUES ('rebuild')"
                )
        if connection.vendor == "postgresql":
            with phase("tsvectors", len(entry_ids)) as progress:
                for start in range(0, len(entry_ids), batch_size):
                    SearchDocument.objects.filter(
                        entry_id__in=entry_ids[start : start + batch_size]
                    ).update(vector=postgres_vector())
                    progress.step(start + batch_size)
    return len(entry_ids)


# The FTS5 triggers that a rebuild replaces (made by papers/0004_search_index).
_FTS_TRIGGERS = ("papers_searchdocument_ai", "papers_searchdocument_ad")


@contextmanager
def _without_fts_triggers():
    """SQLite: no FTS5 insert or delete per row while the documents are
    replaced; the caller rebuilds the index, then the triggers (as the
    migration made them) come back. Inside the caller's transaction, so a
    failure brings them back too."""
    with connection.cursor() as cursor:
        definitions = []
        for name in _FTS_TRIGGERS:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name]
            )
            (sql,) = cursor.fetchone()
            definitions.append(sql)
            cursor.execute(f"DROP TRIGGER {name}")
        yield
        for sql in definitions:
            cursor.execute(sql)
