"""Related entries by content: for each entry, the entries most like it in
their words, and the words they share as the reason (docs/related-entries.md).

**Terms.** An entry's terms are the tokens of papers.search (Chinese runs as
overlapping bigrams, Latin words lower-cased, Traditional folded to
Simplified) of its title, summary, tags and section name; the title's and
the tags' count twice. Lone characters, bare numbers, arXiv ids and a few
English function words are left out: they say nothing of a topic.

**Weights.** tf-idf, as a unit vector: ``(1 + log tf) * log((N + 1) / df)``,
where ``df`` is how many entries use the term (``TermCount``, kept up to date
at each save, never counted over the archive) and N how many entries there
are. Two entries' similarity is the dot product of their vectors (cosine); the
shared terms that weigh most in it are the reason shown.

**Recent issues favoured.** A list is ranked by similarity times
``freshness(period_end)`` of the related entry's issue: the weight halves for
every HALF_LIFE_DAYS older. An exponential of the date itself, not of its age,
so that the ratio of two entries' weights never changes as time passes: a
list stored last year is still in the right order today, and no list needs
recomputing because days went by.

**Candidates, not the archive.** Scoring every entry at each save would read
100,000 vectors. Instead each entry's POSTED_TERMS heaviest terms go into
``TermPosting`` (indexed by term and weight, and by term and entry id), and a
save looks up, for each of the saved entry's QUERY_TERMS heaviest terms, the
CANDIDATES_PER_TERM entries where that term weighs most and the
CANDIDATES_PER_TERM newest entries holding it among their heaviest: some
hundreds of candidates found by a few dozen reads of an index, however large
the archive. Only those are scored, from their stored vectors. The full-text
index (SearchDocument) could find candidates too, but it knows no document
frequencies on PostgreSQL (``ts_stat`` reads every document) and ranks all
matches of a common word before it can give the best few; this table answers
both databases the same way, in a bounded time (docs/related-entries.md has
the figures at 100,000 entries).

**When lists change.** Saving an entry (its text, tags, section or place)
recomputes its own list, and, symmetrically, its row in the lists of the
entries it is now related to or was listed by (the LISTED_BY_MAX where it
ranks best): inserted or rescored there, removed where it is no longer alike,
each of those lists trimmed to LIST_LENGTH. Other entries' vectors are as
their last save left them (the document frequencies drift slowly);
``manage.py rebuild_related``, run by
``load_seed`` and after every bulk write (``archive_rewritten``), recomputes
everything from scratch. Renaming a tag or a section changes a term of many
entries at once and is left to that command too.

**Public only, at read time.** Lists are computed over every entry, drafts
included, so that publishing an issue needs no recomputation: the page reads
them through ``RelatedEntry.objects.public_for()``, which keeps only related
entries that ``Entry.objects.published()`` admits now. A draft's entries never
show; an entry whose issue is unpublished disappears from every list at once.
"""

import functools
import itertools
import math
from collections import Counter, defaultdict
from datetime import date

from django.db import connection, reset_queries, transaction
from django.db.models import F

from papers.models import (
    TERM_MAX_LENGTH,
    Entry,
    EntryTerms,
    RelatedEntry,
    TaggedEntry,
    TermCount,
    TermPosting,
)
from papers.search import cut, fold, tokens

# How many related entries each entry stores; pages show fewer (after the
# drafts are filtered out and a paper covered twice is shown once).
LIST_LENGTH = 12
# Below this cosine two entries are not related, whatever their dates.
MIN_SIMILARITY = 0.03
# The shared terms stored as the reason, most telling first.
SHARED_TERMS = 4
# An entry's heaviest terms put in TermPosting, and those looked up at a save.
POSTED_TERMS = 24
QUERY_TERMS = 8
CANDIDATES_PER_TERM = 30
# An archive this small is compared whole: every entry is a candidate.
SCORE_ALL_MAX = 1000
# A save rescores its row in at most this many of the lists that hold it (the
# ones where it ranks best): an entry listed by thousands (at 100,000 entries
# a save changed 2,893 lists, and the slowest took 0.98 s) would otherwise make
# one save read thousands of vectors. Rows past it keep their score and reason
# until those entries are saved or ``rebuild_related`` runs.
LISTED_BY_MAX = 200
# Freshness halves for each this many days older an issue's period ends.
HALF_LIFE_DAYS = 365
FRESHNESS_EPOCH = date(2020, 1, 1)
# The parts of an entry whose terms count twice.
TITLE_AND_TAG_WEIGHT = 2
BATCH = 2000

# English function words: every paper has them, none is a topic.
STOPWORDS = frozenset(
    (
        *("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into"),
        *("is", "it", "its", "of", "on", "or", "our", "over", "that", "the", "their"),
        *("this", "to", "towards", "under", "using", "via", "we", "with", "without"),
    )
)


# Chinese function characters: a bigram holding one (的方, 与人, 仍是) spans
# two words more often than it makes one.
FUNCTION_CHARACTERS = frozenset("的了是与和及其并被把仍也而或该这之着")


def freshness(day):
    """The weight of an issue whose period ends on ``day``: 2 to the power of
    how many half-lives it ends after FRESHNESS_EPOCH (module docstring)."""
    return 2.0 ** ((day - FRESHNESS_EPOCH).days / HALF_LIFE_DAYS)


def is_term(token):
    return (
        1 < len(token) <= TERM_MAX_LENGTH
        and not token.isdigit()
        and not token.startswith("arxiv")
        and token not in STOPWORDS
        and not FUNCTION_CHARACTERS.intersection(token)
    )


def term_counts(title, summary, tag_names, section_name):
    """{term: count} of an entry's text (module docstring)."""
    counts = Counter()
    for text, weight in (
        (title, TITLE_AND_TAG_WEIGHT),
        (" ".join(tag_names), TITLE_AND_TAG_WEIGHT),
        (summary, 1),
        (section_name, 1),
    ):
        for token in tokens(text):
            if is_term(token):
                counts[token] += weight
    return counts


def weigh(counts, entries_using, total):
    """The unit tf-idf vector {term: weight} of ``counts``, heaviest first;
    ``entries_using[term]`` is its document frequency, ``total`` the number
    of entries."""
    raw = {
        term: (1 + math.log(count)) * math.log((total + 1) / max(entries_using.get(term, 1), 1))
        for term, count in counts.items()
    }
    norm = math.sqrt(sum(weight * weight for weight in raw.values())) or 1.0
    ordered = sorted(raw.items(), key=lambda item: (-item[1], item[0]))
    return {term: round(weight / norm, 6) for term, weight in ordered}


def compare(weights, other):
    """(cosine, {shared term: its part of the cosine}) of two vectors."""
    small, large = (weights, other) if len(weights) <= len(other) else (other, weights)
    products = {term: small[term] * large[term] for term in small if term in large}
    return sum(products.values()), products


def shared_words(products, text):
    """The SHARED_TERMS words that weigh most in a similarity, for readers.

    A bigram is a search token, not a word: 指令遵循 shares 指令, 令遵 and
    遵循. So each longest stretch of ``text`` whose every bigram is shared
    becomes one word, weighing what its bigrams weigh, once cut back to the
    whole words (rjieba's) it holds: 更贴近实际 and 更贴近实时 share 贴近实,
    which reads 贴近. Latin words stay as they are."""
    positions, bounds = text_layout(text)
    words = {term: weight for term, weight in products.items() if term.isascii()}
    starts = sorted({i for term in products if not term.isascii() for i in positions.get(term, ())})
    for _, run in itertools.groupby(enumerate(starts), key=lambda item: item[1] - item[0]):
        run = [start for _, start in run]  # consecutive bigrams: one stretch
        start = next((at for at in range(run[0], run[-1] + 2) if at in bounds), None)
        end = next((at for at in range(run[-1] + 2, run[0], -1) if at in bounds), None)
        if start is None or end is None or end - start < 2:
            continue  # no whole word of two characters or more in it
        word = text[start:end]
        weight = sum(
            products[bigram] for bigram in {text[i : i + 2] for i in range(start, end - 1)}
        )
        words[word] = max(words.get(word, 0.0), weight)
    chosen = []
    for word, _ in sorted(words.items(), key=lambda item: (-item[1], item[0])):
        if not any(word in longer for longer in chosen):  # 指令 says less than 指令遵循
            chosen.append(word)
        if len(chosen) == SHARED_TERMS:
            break
    return chosen


@functools.lru_cache(maxsize=64)
def text_layout(text):
    """({bigram: where it starts in ``text``}, where the words of ``text``
    begin and end as papers.search.cut finds them), for ``shared_words``;
    kept for the last texts asked about, since a save or a rebuild asks
    about one text once per entry it compares it with."""
    positions = defaultdict(list)
    for i in range(len(text) - 1):
        positions[text[i : i + 2]].append(i)
    bounds, at = {0}, 0
    for word in cut(text):
        at += len(word)
        bounds.add(at)
    return positions, frozenset(bounds)


def reading_text(title, summary, tag_names, section_name):
    """An entry's text as its terms were taken from (folded), where
    ``shared_words`` finds the words that shared bigrams make."""
    return fold(" ".join([title, *tag_names, summary, section_name]))


def heaviest(weights, count):
    """The ``count`` heaviest terms of a vector (stored heaviest first)."""
    return list(itertools.islice(weights, count))


# ------------------------------------------------------------------ one save


def entry_text(entry_id):
    """(title, summary, tag names, section name, arxiv id, period end) of an
    entry, or None if it is gone: two queries."""
    row = (
        Entry.objects.filter(pk=entry_id)
        .values_list("title", "summary", "section__name", "arxiv_id", "issue__period_end")
        .first()
    )
    if row is None:
        return None
    title, summary, section_name, arxiv_id, period_end = row
    tag_names = TaggedEntry.objects.filter(content_object_id=entry_id).values_list(
        "tag__name", flat=True
    )
    return title, summary, list(tag_names), section_name, arxiv_id, period_end


def count_terms(added, removed):
    """Keep TermCount true for one entry's terms ``added`` and ``removed``."""
    if added:
        TermCount.objects.bulk_create(
            [TermCount(term=term, entries=0) for term in added], ignore_conflicts=True
        )
        TermCount.objects.filter(term__in=added).update(entries=F("entries") + 1)
    if removed:
        TermCount.objects.filter(term__in=removed, entries__gt=0).update(entries=F("entries") - 1)


def query_terms(weights, entries_using):
    """The QUERY_TERMS heaviest terms of a vector that some other entry uses
    too (a term only this entry has weighs most and finds nothing)."""
    shared = (term for term in weights if entries_using.get(term, 0) > 1)
    return list(itertools.islice(shared, QUERY_TERMS))


def candidates_for(weights, entries_using, total):
    """Ids of entries that may be like one with ``weights``: every entry in
    an archive of at most SCORE_ALL_MAX; else, for each of its query terms,
    the entries where it weighs most and the newest that hold it among their
    heaviest (module docstring)."""
    if total <= SCORE_ALL_MAX:
        return set(EntryTerms.objects.values_list("entry_id", flat=True))
    found = set()
    for term in query_terms(weights, entries_using):
        postings = TermPosting.objects.filter(term=term)
        for order in ("-weight", "-entry_id"):
            found.update(
                postings.order_by(order).values_list("entry_id", flat=True)[:CANDIDATES_PER_TERM]
            )
    return found


@transaction.atomic
def update_entry(entry_id):
    """Recompute entry ``entry_id``'s terms and list, and its place in the
    lists of the entries it is like (module docstring), in one transaction
    (the editor's, when there is one). Returns the ids of the entries whose
    lists changed, for the page cache."""
    text = entry_text(entry_id)
    if text is None:
        return set()
    title, summary, tag_names, section_name, arxiv_id, period_end = text
    counts = term_counts(title, summary, tag_names, section_name)
    text = reading_text(title, summary, tag_names, section_name)
    stored = EntryTerms.objects.filter(entry_id=entry_id).first()
    before = set(stored.weights) if stored else set()
    count_terms(counts.keys() - before, before - counts.keys())
    total = EntryTerms.objects.count() + (stored is None)
    entries_using = dict(
        TermCount.objects.filter(term__in=list(counts)).values_list("term", "entries")
    )
    weights = weigh(counts, entries_using, total)
    EntryTerms.objects.update_or_create(entry_id=entry_id, defaults={"weights": weights})
    TermPosting.objects.filter(entry_id=entry_id).delete()
    TermPosting.objects.bulk_create(
        [
            TermPosting(term=term, entry_id=entry_id, weight=weights[term])
            for term in heaviest(weights, POSTED_TERMS)
        ]
    )

    # The lists holding it, best placed first: at most LISTED_BY_MAX are rescored.
    listed_by = set(
        RelatedEntry.objects.filter(related_id=entry_id)
        .order_by("-score", "entry_id")
        .values_list("entry_id", flat=True)[:LISTED_BY_MAX]
    )
    others = (candidates_for(weights, entries_using, total) | listed_by) - {entry_id}
    rows = EntryTerms.objects.filter(entry_id__in=others)
    if arxiv_id:  # the paper's other coverages are on its own page, not related to it
        rows = rows.exclude(entry__arxiv_id=arxiv_id)
    scored = []
    for other_id, other_weights, other_period_end in rows.values_list(
        "entry_id", "weights", "entry__issue__period_end"
    ):
        similarity, products = compare(weights, other_weights)
        scored.append((other_id, similarity, products, other_period_end))

    alike = [row for row in scored if row[1] >= MIN_SIMILARITY]
    alike.sort(key=lambda row: (-row[1] * freshness(row[3]), row[0]))
    own_list = alike[:LIST_LENGTH]
    RelatedEntry.objects.filter(entry_id=entry_id).delete()
    RelatedEntry.objects.bulk_create(
        [
            RelatedEntry(
                entry_id=entry_id,
                related_id=other_id,
                score=similarity * freshness(other_period_end),
                shared_terms=shared_words(products, text),
            )
            for other_id, similarity, products, other_period_end in own_list
        ]
    )

    # Symmetrically: this entry's row in the lists of those it is like now,
    # and of those that listed it before (rescored, or gone if no longer alike).
    listing = {row[0] for row in own_list} | listed_by
    by_id = {row[0]: row for row in scored}
    insert = [
        RelatedEntry(
            entry_id=other_id,
            related_id=entry_id,
            score=by_id[other_id][1] * freshness(period_end),
            shared_terms=shared_words(by_id[other_id][2], text),
        )
        for other_id in listing
        if other_id in by_id and by_id[other_id][1] >= MIN_SIMILARITY
    ]
    RelatedEntry.objects.bulk_create(
        insert,
        update_conflicts=True,
        unique_fields=["entry", "related"],
        update_fields=["score", "shared_terms"],
    )
    gone = listing - {row.entry_id for row in insert}
    RelatedEntry.objects.filter(entry_id__in=gone, related_id=entry_id).delete()
    trim_lists({row.entry_id for row in insert})
    return {entry_id} | listing


def trim_lists(entry_ids):
    """Cut the lists of ``entry_ids`` back to LIST_LENGTH, best kept: two queries."""
    if not entry_ids:
        return
    rows = RelatedEntry.objects.filter(entry_id__in=entry_ids).order_by(
        "entry_id", "-score", "related_id"
    )
    surplus = []
    for _, of_one in itertools.groupby(rows.values_list("entry_id", "pk"), key=lambda r: r[0]):
        surplus += [pk for _, pk in list(of_one)[LIST_LENGTH:]]
    if surplus:
        RelatedEntry.objects.filter(pk__in=surplus).delete()


def forget_entry(entry_id):
    """Before an entry is deleted: its terms no longer count (its rows go
    with it, by cascade)."""
    stored = EntryTerms.objects.filter(entry_id=entry_id).first()
    if stored:
        count_terms(set(), set(stored.weights))


# ------------------------------------------------------------------ everything


def _every_entry_text():
    """(id, counts, text, arxiv id, period end) of every entry, in id order: the
    tag links in one query, the entries read BATCH at a time."""
    tag_names = defaultdict(list)
    links = TaggedEntry.objects.values_list("content_object_id", "tag__name")
    for entry_id, name in links.iterator(chunk_size=5000):
        tag_names[entry_id].append(name)
    entries = Entry.objects.order_by("pk").values_list(
        "pk", "title", "summary", "section__name", "arxiv_id", "issue__period_end"
    )
    for pk, title, summary, section_name, arxiv_id, period_end in entries.iterator(
        chunk_size=BATCH
    ):
        parts = (title, summary, tag_names[pk], section_name)
        yield pk, term_counts(*parts), reading_text(*parts), arxiv_id, period_end


def rebuild():
    """Every entry's terms, the term counts, the postings and every list,
    from scratch, in one transaction; returns how many entries.

    For ``manage.py rebuild_related``, ``load_seed`` and bulk writes
    (``archive_rewritten``). The lists are computed in memory with the same
    candidates and scores as a save, from the POSTED_TERMS heaviest terms of
    each vector (a save compares whole vectors; the rest weigh little); an
    archive of at most SCORE_ALL_MAX entries is compared whole, pair by pair.

    The entries are read twice: once for the term counts, which every weight
    needs, and once to weigh each entry and write its terms as it goes. What
    stays in memory is each entry's heaviest terms and its text (for the
    reasons), not every term of every entry twice over: at 100,000 entries
    the peak was 2.5 GB when the first reading was kept for the second
    (docs/related-entries.md has the figures).
    """
    with transaction.atomic():
        entries_using, total = Counter(), 0
        for _, counts, _, _, _ in _every_entry_text():
            entries_using.update(counts.keys())
            total += 1
        for model in (RelatedEntry, TermPosting, EntryTerms, TermCount):
            model.objects.all().delete()
        _bulk(TermCount, (TermCount(term=t, entries=n) for t, n in entries_using.items()))

        vectors, postings, facts = {}, defaultdict(list), {}

        def weighed():
            for pk, counts, text, arxiv_id, period_end in _every_entry_text():
                weights = weigh(counts, entries_using, total)
                top = {term: weights[term] for term in heaviest(weights, POSTED_TERMS)}
                vectors[pk] = weights if total <= SCORE_ALL_MAX else top
                facts[pk] = (arxiv_id, freshness(period_end), text)
                for term, weight in top.items():
                    postings[term].append((weight, pk))
                yield EntryTerms(entry_id=pk, weights=weights)

        _bulk(EntryTerms, weighed())
        _bulk(
            TermPosting,
            (
                TermPosting(term=term, entry_id=pk, weight=weight)
                for term, rows in postings.items()
                for weight, pk in rows
            ),
        )
        if total <= SCORE_ALL_MAX:
            _bulk(RelatedEntry, _every_list_compared_whole(vectors, facts))
            return len(vectors)
        best = {}
        for term, rows in postings.items():
            by_weight = sorted(rows, key=lambda row: (-row[0], -row[1]))[:CANDIDATES_PER_TERM]
            newest = sorted(rows, key=lambda row: -row[1])[:CANDIDATES_PER_TERM]
            best[term] = {pk for _, pk in by_weight} | {pk for _, pk in newest}
        postings.clear()
        _bulk(RelatedEntry, _every_list(vectors, facts, best, entries_using))
    return len(vectors)


def _every_list(vectors, facts, best, entries_using):
    for pk, weights in vectors.items():
        terms = query_terms(weights, entries_using)
        yield from _list_of(
            pk, weights, set().union(*(best[term] for term in terms)), vectors, facts
        )


def _every_list_compared_whole(vectors, facts):
    for pk, weights in vectors.items():
        yield from _list_of(pk, weights, vectors.keys(), vectors, facts)


def _list_of(pk, weights, found, vectors, facts):
    arxiv_id = facts[pk][0]
    scored = []
    for other in found:
        if other == pk or (arxiv_id and facts[other][0] == arxiv_id):
            continue
        similarity, products = compare(weights, vectors[other])
        if similarity >= MIN_SIMILARITY:
            scored.append((-similarity * facts[other][1], other, products))
    scored.sort(key=lambda row: row[:2])
    text = facts[pk][2]
    for score, other, products in scored[:LIST_LENGTH]:
        shared = shared_words(products, text)
        yield RelatedEntry(entry_id=pk, related_id=other, score=-score, shared_terms=shared)


def _bulk(model, rows):
    rows = iter(rows)
    while batch := list(itertools.islice(rows, BATCH)):
        model.objects.bulk_create(batch)
        if connection.queries_log:
            reset_queries()  # with DEBUG on, the logged batches would fill the memory
