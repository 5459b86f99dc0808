"""Rising terms: the words whose share of a period's talk rose most against the period before.

The comparison is the weighted log-odds ratio with an informative Dirichlet prior of Monroe, Colaresi & Quinn
(2008), "Fightin' Words: Lexical Feature Selection and Evaluation for Identifying the Content of Political
Conflict", *Political Analysis* 16(4): 372-403 (section 3.5.1). Rare terms are shrunk towards the pooled rate, so a
word used twice instead of once does not outrank one used two hundred times instead of fifty.

The tokeniser (:func:`tokenize`), vectorised over Arrow arrays (no Python loop per message):

1. markup is removed: code blocks (```` ``` ... ``` ````) and inline ```code```, anything in angle brackets (Slack
   mentions ``<@U123>``, channel links ``<#C1|name>``, ``<!here>``, links ``<http://x.org|label>`` with their
   label, HTML tags), bare URLs (``http://``, ``https://``, ``ftp://``, ``www.``, ``mailto:``), emoji codes
   (``:smile:``, ``:+1::skin-tone-2:``) and HTML entities (``&amp;``, ``&nbsp;``, ``&#39;``);
2. the rest is NFKC-normalised and lowercased (full-width ``ＡＢＣ`` is ``abc``, ``’`` is ``'``);
3. spaced scripts are cut at word boundaries: a word is a run of letters, combining marks and digits, with
   apostrophes kept inside it (``don't``), which is how Unicode's word boundaries (UAX #29) cut Latin, Cyrillic,
   Greek, Arabic, Devanagari ... but for its finer rules (``3.14`` and ``e.g.`` are cut at the dot, ``_`` and
   ``-`` cut too); words of one character and numbers are left out;
4. CJK and Thai (Han, Hiragana, Katakana with its ``ー``, Hangul, Thai), written without spaces between words, are
   cut into overlapping character bigrams: ``東京都`` gives ``東京`` and ``京都``, a lone character is its own
   term. Bigrams need no dictionary and are the usual choice for search and term statistics of these scripts
   (a word segmenter such as MeCab or jieba would be a new dependency); a bigram that straddles two words is
   noise the counts of the real ones outweigh. Korean is spaced, but its words inflect, so it is cut into bigrams
   too. Thai bigrams are of code points (a tone mark is a character of its own);
5. stop words are dropped (:data:`STOP_WORDS`, or your own: ``stop_words=``).

Which frames it refuses, and why: a text-free frame (``load_messages(text=False)``) has no text to read; a
pseudonymised one (:func:`chatlens.privacy.pseudonymize`, recognised by senders that are all pseudonyms) keeps its
text only with ``keep_text=True``, and that text still names people in plain words (Teams mentions arrive as plain
names), which terms would show. Show them only where text may be shown: in the report, with ``--include-text``
(which it never combines with ``--anonymize``).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import to_utc
from ._common import options, select_columns, str_array, text_of
from ._docs import shared_docs

__all__ = ["COLUMNS", "STOP_WORDS", "rising_terms", "tokenize"]

#: The columns of :func:`rising_terms`, in order.
COLUMNS = ("term", "count", "previous_count", "share", "previous_share", "log_odds", "z")

# English function words and chat filler, lowercased (apostrophes as ').
_ENGLISH = """
        a about above after again against all also am an and any are aren't as at be because been before being
        below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
        during each either else etc even ever every few for from further get gets got had hadn't has hasn't have
        haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
        i've if in into is isn't it it's its itself just let's like me might more most much must mustn't my
        myself no nor not now of off ok okay on once one only or other ought our ours ourselves out over own
        please re same shall shan't she she'd she'll she's should shouldn't so some such than thank thanks that
        that's the their theirs them themselves then there there's these they they'd they'll they're they've
        this those though through to too under until up upon us very via was wasn't we we'd we'll we're we've
        were weren't what what's when when's where where's whether which while who who's whom why why's will
        with won't would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself yourselves
        """

#: Built-in stop words, by language (only English so far; add your own with ``stop_words=``).
STOP_WORDS: dict[str, frozenset[str]] = {"en": frozenset(_ENGLISH.split())}

# Scripts written without spaces between words (U+30FC, the Katakana long-vowel mark, is of script Common).
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\x{30FC}"
# One RE2 pass over the raw text, leftmost alternative first: a code block may hold anything, markup included.
_MARKUP = (
    r"(?is)```.*?```"
    r"|`[^`\n]*`"
    r"|<[^<>\n]*>"
    r"|(?:https?|ftp)://[^\s<>`]+|www\.[^\s<>`]+|mailto:[^\s<>`]+"
    r"|:[a-z0-9_+'-]+:"
    r"|&(?:[a-z]+|#[0-9]+|#x[0-9a-f]+);"
)
_NOT_WORD = r"[^\pL\pM\pN']+"
# Texts the markup pattern could match (a quick scan first: most messages hold none).
_MAY_HOLD_MARKUP = r"[`<:&]|www\.|mailto:"
# The pseudonyms of chatlens.privacy (member-<48 bits in hex>): a frame whose senders all look so is anonymised.
_PSEUDONYM = r"^member-[0-9a-f]{12}$"
_SHIFT = 21  # code points fit in 21 bits: a bigram is one int64


def _stop_set(stop_words: Any) -> pa.Array:
    """``stop_words`` (None: :data:`STOP_WORDS`; a set of words; or a mapping language -> words, all of whose
    words are dropped) as one Arrow array, normalised as the text is."""
    if stop_words is None:
        stop_words = STOP_WORDS
    if isinstance(stop_words, str):
        raise TypeError(f"stop_words: expected a set of words or a mapping language -> words, got {stop_words!r}")
    if isinstance(stop_words, Mapping):
        words: list[Any] = []
        for language, group in stop_words.items():
            if isinstance(group, str) or not isinstance(group, Iterable):
                raise TypeError(f"stop_words[{language!r}]: expected a set of words, got {group!r}")
            words.extend(group)
    elif isinstance(stop_words, Iterable):
        words = list(stop_words)
    else:
        raise TypeError(f"stop_words: expected a set of words or a mapping language -> words, got {stop_words!r}")
    bad = [w for w in words if not isinstance(w, str)]
    if bad:
        raise TypeError(f"stop_words: every word must be a string, got {bad[:3]!r}")
    arr = pa.array(words, type=pa.string())
    return pc.replace_substring(pc.utf8_lower(pc.utf8_normalize(arr, "NFKC")), "\u2019", "'").unique()


def _only_where(texts: pa.Array, mask: pa.Array, function: Any) -> pa.Array:
    """``function`` applied to the texts where ``mask`` holds, the others kept as they are (most chat messages are
    plain ASCII without markup, and pass no regex)."""
    if not pc.any(mask).as_py():
        return texts
    return pc.replace_with_mask(texts, mask, function(texts.filter(mask)))


def _clean(texts: pa.Array) -> pa.Array:
    """Markup out, NFKC (nulls stay null). Case is folded later, on the distinct terms."""
    texts = _only_where(
        texts,
        pc.match_substring_regex(texts, _MAY_HOLD_MARKUP).fill_null(False),
        lambda some: pc.replace_substring_regex(some, _MARKUP, " "),
    )
    # ASCII is its own NFKC form, and holds no typographic apostrophe.
    return _only_where(
        texts,
        pc.invert(pc.string_is_ascii(texts)).fill_null(False),
        lambda some: pc.replace_substring(pc.utf8_normalize(some, "NFKC"), "\u2019", "'"),
    )


def _code_points(tokens: pa.Array) -> np.ndarray:
    """Every character of ``tokens`` (no nulls) one after another, as uint32 code points: one decode in all."""
    offsets = np.frombuffer(tokens.buffers()[1], dtype=np.int32)[tokens.offset : tokens.offset + len(tokens) + 1]
    data = tokens.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return np.zeros(0, dtype=np.uint32)
    raw = memoryview(data)[int(offsets[0]) : int(offsets[-1])]
    return np.frombuffer(bytes(raw).decode("utf-8").encode("utf-32-le"), dtype="<u4")


def _bigrams(tokens: pa.Array, lengths: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Each CJK token's overlapping character bigrams (a one-character token: itself), in order: (the position of
    each bigram's token, the bigrams as strings). Strings are built once per distinct bigram."""
    cp = _code_points(tokens).astype(np.int64)
    per = np.maximum(lengths - 1, 1)
    token = np.repeat(np.arange(len(lengths)), per)
    first_term = np.cumsum(per) - per
    starts = np.cumsum(lengths) - lengths
    pos = starts[token] + (np.arange(len(token)) - first_term[token])
    pair = lengths[token] >= 2
    second = np.zeros(len(pos), dtype=np.int64)
    second[pair] = cp[pos[pair] + 1]
    codes, keys = pd.factorize((cp[pos] << _SHIFT) | second)
    low = (1 << _SHIFT) - 1
    # One Python string per distinct bigram (thousands), never per occurrence.
    names = pa.array([chr(k >> _SHIFT) + (chr(k & low) if k & low else "") for k in keys.tolist()], type=pa.string())
    return token, names.take(pa.array(codes))


def _lengths(strings: pa.Array) -> np.ndarray:
    """Each string's length in characters (int64)."""
    return pc.utf8_length(strings).to_numpy(zero_copy_only=False).astype(np.int64)


def _owners(lists: pa.ListArray) -> np.ndarray:
    """The position of the list each item of ``pc.list_flatten(lists)`` belongs to (int64), from the offsets."""
    offsets = lists.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.repeat(np.arange(len(lists), dtype=np.int64), np.diff(offsets))


def _terms(texts: pa.Array, stop: pa.Array) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """The terms of each text, stop words dropped: (each term's text position, its code, the distinct terms the
    codes index), each text's terms in reading order.

    A token's terms depend on the token alone, so they are found once per distinct token (chat repeats its words:
    on 1,000,000 messages, 5.5 million tokens, a few percent of them distinct), then repeated for each use."""
    lists = pc.utf8_split_whitespace(_clean(texts))
    encoded = pc.dictionary_encode(pc.list_flatten(lists))
    use = encoded.indices.to_numpy(zero_copy_only=False)
    of_distinct, distinct_code, vocab = _token_terms(encoded.dictionary, stop)
    # Each use of a token gets that token's terms, in order: CSR over the distinct tokens.
    per = np.bincount(of_distinct, minlength=len(encoded.dictionary))
    start = np.cumsum(per) - per
    n = per[use]
    if n.max(initial=0) <= 1:  # every token one term or none (stop words, markup): no expansion
        code = distinct_code[start[use[n > 0]]]
    else:
        first = np.repeat(start[use], n)
        code = distinct_code[first + (np.arange(len(first)) - np.repeat(np.cumsum(n) - n, n))]
    # Each text's terms are those of its tokens: a count per text from the lists' offsets.
    offsets = lists.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    used = np.concatenate([[0], np.cumsum(n)])
    per_text = used[offsets[1:] - offsets[0]] - used[offsets[:-1] - offsets[0]]
    return np.repeat(np.arange(len(lists), dtype=np.int64), per_text), code, vocab


def _token_terms(tokens: pa.Array, stop: pa.Array) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """The terms of each token (no nulls), in reading order: (each term's token position, its code, the distinct
    terms the codes index)."""
    token_owner = np.arange(len(tokens), dtype=np.int64)
    # Most tokens are ASCII letters and digits, words as they stand; only the others (punctuation, apostrophes,
    # other scripts, emoji) go through the regex that cuts at non-word characters and sets CJK runs apart.
    plain = pc.ascii_is_alnum(tokens).to_numpy(zero_copy_only=False)
    other = np.flatnonzero(~plain)
    parts = pc.replace_substring_regex(tokens.take(pa.array(other)), f"([{_CJK}]+)", r" \1 ")
    parts = pc.split_pattern_regex(parts, _NOT_WORD)
    piece_of = other[_owners(parts)]  # the token each piece is cut from
    pieces = pc.utf8_trim(pc.list_flatten(parts), "'")
    cjk = pc.match_substring_regex(pieces, f"^[{_CJK}]").to_numpy(zero_copy_only=False)
    cjk_at = np.flatnonzero(cjk)
    at, bigrams = _bigrams(pieces.filter(pa.array(cjk)), _lengths(pieces)[cjk])
    # One hash of every token, piece and bigram (chunks share the dictionary), no copy of the strings; the codes
    # of tokens that were cut into pieces are simply not used.
    encoded = pc.dictionary_encode(pa.chunked_array([tokens, pieces, bigrams], type=pa.string()))
    chunks = [c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks]
    chunks += [np.zeros(0, np.int32)] * (3 - len(chunks))  # pyarrow leaves out empty chunks
    spelled = encoded.chunks[0].dictionary if encoded.num_chunks else pa.array([], type=pa.string())
    # Judged once per distinct term, never per use: case folded ("Deploy" is "deploy"), no one-letter words, no
    # numbers (a CJK term is neither), no stop words.
    folded = pc.dictionary_encode(pc.utf8_lower(spelled))
    vocab = folded.dictionary
    to_folded = folded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    good = (_lengths(vocab) >= 2) & ~pc.utf8_is_numeric(vocab).to_numpy(zero_copy_only=False)
    good |= pc.match_substring_regex(vocab, f"^[{_CJK}]").to_numpy(zero_copy_only=False)
    good &= ~pc.is_in(vocab, value_set=stop).to_numpy(zero_copy_only=False)
    good_spelling = good[to_folded]
    used = [plain & good_spelling[chunks[0]], ~cjk & good_spelling[chunks[1]], good_spelling[chunks[2]]]
    # The token each used term comes from, and (for reading order) the piece within it.
    tokens_at = [np.flatnonzero(used[0]), piece_of[used[1]], piece_of[cjk_at[at[used[2]]]]]
    owner = np.concatenate([token_owner[t] for t in tokens_at])
    code = np.concatenate([to_folded[c[u]] for c, u in zip(chunks, used)])
    # By token, then by piece within it; a piece's bigrams are in order already (lexsort is stable).
    piece = np.concatenate([np.full(len(tokens_at[0]), -1), np.flatnonzero(used[1]), cjk_at[at[used[2]]]])
    order = np.lexsort((piece, np.concatenate(tokens_at)))
    return owner[order], code[order], vocab


def tokenize(texts: Any, *, stop_words: Any = None) -> pd.Series:
    """The terms of each text, as :func:`rising_terms` counts them (see the module docs for the rules).

    Parameters
    ----------
    texts
        A Series (or anything ``pd.Series`` takes) of texts; missing ones have no terms.
    stop_words
        Words to leave out: None for :data:`STOP_WORDS`; a set of words; or a mapping language -> set of words
        (every language's words are dropped from every text: messages carry no language tag). Words are
        normalised as the text is (NFKC, lowercase). Pass ``set()`` to keep every word, ``{**STOP_WORDS, "fr":
        {...}}`` to add French to the English ones.

    Returns
    -------
    Series
        A list of terms per text, in reading order, on the index of ``texts``.

    Examples
    --------
    >>> tokenize(["Hi <@U123>, the `make test` run on <https://ci.example|CI> is GREEN again :tada:",
    ...           "東京都のＡＰＩ", "Ça marche, don't worry &amp; ship it"]).tolist()
    [['hi', 'run', 'green'], ['東京', '京都', '都の', 'api'], ['ça', 'marche', 'worry', 'ship']]
    """
    values = texts if isinstance(texts, pd.Series) else pd.Series(texts, dtype=object)
    owner, code, vocab = _terms(text_of(values), _stop_set(stop_words))
    terms = vocab.take(pa.array(code))
    offsets = np.searchsorted(owner, np.arange(len(values) + 1)).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), terms)
    return pd.Series(lists.to_pylist(), index=values.index, dtype=object)


def _check_frame(messages: Any) -> None:
    """ValueError for a text-free or a pseudonymised frame (TypeError for no frame at all: select's)."""
    if not isinstance(messages, pd.DataFrame):
        return  # select_columns names the type
    if "text" not in messages.columns:
        raise ValueError(
            "rising_terms needs message text, and this frame is text-free (text_length and is_question instead of "
            "text): load it with load_messages(..., text=True)"
        )
    if "sender_id" in messages.columns:
        ids = messages["sender_id"]
        distinct = ids.cat.categories if isinstance(ids.dtype, pd.CategoricalDtype) else ids.dropna().unique()
        arr = pa.array(pd.Index(distinct).astype(str).to_numpy(dtype=object), type=pa.string())
        if len(arr) and pc.all(pc.match_substring_regex(arr, _PSEUDONYM)).as_py():
            raise ValueError(
                "rising_terms is off for pseudonymised frames (chatlens.privacy.pseudonymize): message text names "
                "people in plain words, which pseudonyms do not replace; run it on the frame before pseudonymising, "
                "and only where showing text is allowed"
            )


def _empty() -> pd.DataFrame:
    columns: dict[str, Any] = {"term": pd.Series([], dtype="str")}
    columns.update({c: pd.Series([], dtype="int64") for c in ("count", "previous_count")})
    columns.update({c: pd.Series([], dtype="float64") for c in COLUMNS[3:]})
    return pd.DataFrame(columns)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a whole number of 1 or more, got {value!r}")
    return int(value)


@shared_docs
def rising_terms(
    messages: pd.DataFrame,
    *,
    since: Any,
    until: Any,
    n: int = 20,
    min_count: int = 3,
    stop_words: Any = None,
    prior_size: float | None = None,
    include_bots: bool = False,
    include_system: bool = False,
) -> pd.DataFrame:
    """The terms whose share of the talk rose most in ``[since, until)`` against the period of equal length before
    it, by the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008).

    Terms are those of :func:`tokenize` (markup, links, code and emoji codes out; words of spaced scripts, character
    bigrams of CJK and Thai; stop words dropped), each counted once per message: one message repeating a word fifty
    times is one use of it. Only terms whose share rose (``z > 0``) and that were used in at least ``min_count``
    messages of the period are listed.

    Parameters
    ----------
    %(messages)s
    since, until
        The period ``[since, until)`` (naive times are UTC); it is compared with ``[since - (until - since),
        since)``.
    n
        How many terms, at most.
    min_count
        The fewest messages of the period a listed term must be used in.
    stop_words
        Words to leave out: None for :data:`STOP_WORDS` (English); a set of words; or a mapping language -> set of
        words, all of whose words are dropped (messages carry no language tag). ``set()`` keeps every word.
    prior_size
        The prior's weight a0 in pseudo-counts; None: the number of term uses in both periods together, so each
        term's prior is its own pooled count (the pooled text as the background corpus). Smaller values shrink
        rare terms less.
    %(include)s

    Returns
    -------
    DataFrame
        One row per term, the highest ``z`` first (ties by term), at most ``n``: ``term``; ``count`` and
        ``previous_count``, the messages of each period using it; ``share`` and ``previous_share``, those counts
        over all term uses of the period; ``log_odds``, the estimated log-odds ratio delta; ``z``, delta over its
        standard error (above 1.96: a rise unlikely by chance, as the model sees it). Empty, with these columns,
        when no term rose, and when either period has no terms at all (with nothing before, the prior is the
        period itself and nothing rose against it).

    Raises
    ------
    ValueError
        For a text-free frame (``load_messages(text=False)``) or a pseudonymised one, ``until`` not after
        ``since``, ``n`` or ``min_count`` below 1, and a ``prior_size`` of 0 or less.
    TypeError
        If ``messages`` is not a DataFrame, or ``stop_words`` is not a set of words or a mapping of them.

    Notes
    -----
    With y_w and y'_w the uses of term w in the period and the one before, n and n' their totals, the prior
    alpha_w = a0 * (y_w + y'_w) / (n + n') with a0 = ``prior_size`` (default n + n'):
    log_odds_w = log((y_w + alpha_w) / (n + a0 - y_w - alpha_w)) - log((y'_w + alpha_w) / (n' + a0 - y'_w -
    alpha_w)); z_w = log_odds_w / sqrt(1 / (y_w + alpha_w) + 1 / (y'_w + alpha_w)). A use is a (message, term)
    pair, so counts are messages using the term. Monroe, B. L., Colaresi, M. P. & Quinn, K. M. (2008), Fightin'
    Words, Political Analysis 16(4): 372-403, section 3.5.1.

    Examples
    --------
    >>> m = pd.DataFrame({
    ...     "id": [f"m{i}" for i in range(8)], "sender_id": ["U1", "U2"] * 4,
    ...     "created": pd.to_datetime(["2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05",
    ...                                "2026-01-09", "2026-01-10", "2026-01-11", "2026-01-12"], utc=True),
    ...     "text": ["lunch plans?", "the build is green", "lunch at noon", "green build, lunch later",
    ...              "outage on the build", "<@U1> outage again :fire:", "lunch?", "outage fixed, build green"]})
    >>> top = rising_terms(m, since="2026-01-08", until="2026-01-15", min_count=2)
    >>> top[["term", "count", "previous_count", "z"]].round(2)
         term  count  previous_count     z
    0  outage      3               0  1.30
    1   build      2               2  0.17

    "build" rose a little: 2 of the week's 8 term uses against 2 of 10 the week before.
    """
    _check_frame(messages)
    lo, hi = to_utc(since, "since"), to_utc(until, "until")
    if hi <= lo:
        raise ValueError(f"until: must be after since, got since={since!r}, until={until!r}")
    n, min_count = _positive_int(n, "n"), _positive_int(min_count, "min_count")
    if prior_size is not None and (
        isinstance(prior_size, bool) or not isinstance(prior_size, numbers.Real) or not prior_size > 0
    ):
        raise ValueError(f"prior_size: expected a number above 0 or None, got {prior_size!r}")
    stop = _stop_set(stop_words)
    frame = select_columns(messages, ["text"], since=lo - (hi - lo), until=hi, **options(include_bots, include_system))
    current = (frame["created"] >= lo).to_numpy(dtype=bool)
    if not current.any():
        return _empty()
    owner, code, vocab = _terms(text_of(frame["text"]), stop)
    k = max(len(vocab), 1)
    # Once per message: the distinct (message, term) pairs, by one sort (owner < len(frame), code < k).
    pairs = np.sort(owner * k + code)
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])] if len(pairs) else pairs
    counts = np.bincount((pairs % k) * 2 + current[pairs // k], minlength=2 * k).reshape(k, 2)
    now, before = counts[:, 1].astype(np.float64), counts[:, 0].astype(np.float64)
    total_now, total_before = now.sum(), before.sum()
    if total_now == 0 or total_before == 0:
        return _empty()
    pooled = now + before
    a0 = float(pooled.sum()) if prior_size is None else float(prior_size)
    alpha = a0 * pooled / pooled.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.log((now + alpha) / (total_now + a0 - now - alpha)) - np.log(
            (before + alpha) / (total_before + a0 - before - alpha)
        )
        z = delta / np.sqrt(1 / (now + alpha) + 1 / (before + alpha))
    # A vocabulary of one term has no odds to compare (0 / 0): no rise.
    delta, z = np.nan_to_num(delta, nan=0.0), np.nan_to_num(z, nan=0.0)
    # z > 0 exactly when the share rose (the prior's rate lies between the two shares): compared in integers, so
    # a share that stayed the same is never listed for a z of rounding noise.
    rose = counts[:, 1] * int(total_before) > counts[:, 0] * int(total_now)
    chosen = np.flatnonzero((counts[:, 1] >= min_count) & rose)
    names = str_array(vocab.take(pa.array(chosen)))
    order = np.lexsort((np.asarray(names, dtype=object), -z[chosen]))[:n]
    chosen = chosen[order]
    out = pd.DataFrame(
        {
            "term": pd.Series(str_array(vocab.take(pa.array(chosen)))),
            "count": counts[chosen, 1].astype(np.int64),
            "previous_count": counts[chosen, 0].astype(np.int64),
            "share": now[chosen] / total_now,
            "previous_share": before[chosen] / total_before,
            "log_odds": delta[chosen],
            "z": z[chosen],
        }
    )
    return out
