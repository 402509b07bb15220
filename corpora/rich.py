"""A far richer generator of short English->Spanish stories whose "it"/"they" takes its antecedent's gender.

A model trained on `corpora.stories` resolves "it" on held-out stories of the same templates
and is at chance on stories of other words (the held-out shape) and on hand-written text
(`corpora.natural`): it learned the templates, not the rule (issue 32). These stories vary
every part so that the only thing they share is the rule "the Spanish of *it* / *they* takes
the gender and number of the thing it refers to":

- things: some 500 nouns with their Spanish gender and plural, everyday and Bible-world, with
  the endings that mislead (el mapa, el problema, el planeta, el día, el tranvía, la mano,
  la foto, la radio, la moto, la flor, la sartén), each tagged with what can be done to it
  (`NOUNS`: a cow is fed and saddled, a letter read and sent, a bridge crossed);
- introductions in many styles and determiners (a / the / this / that / my / your / our, two,
  some, these), with or without an adjective before the noun ("I bought a cheap lamp at the
  market." -> "Compré una lámpara barata en el mercado."), in the dialogue of every day
  ("Where is my umbrella?") and in the Bible's narrative ("And he took the staff.");
- zero to three sentences between the thing and the pronoun, about people of either gender
  ("My sister was very tired." -> "Mi hermana estaba muy cansada."): English says *it* only of
  things, so the antecedent is the thing, not the nearest noun;
- endings whose English is the same for every thing and whose Spanish carries its gender:
  an object clitic on one of some 120 verbs in a dozen tenses and moods, with Spanish's
  clitic placement and written accents ("I washed it." -> "Lo lavé.", "Bring it here." ->
  "Tráelo aquí.", "Can you repair it?" -> "¿Puedes repararlo?", "I have lost it." -> "Lo he
  perdido.", "Don't touch it." -> "No lo toques.", "Send it to me." -> "Envíamelo."), an
  agreeing adjective with the right copula ("It is cheap." -> "Es barato.", "It was broken." ->
  "Estaba roto."), or a stressed pronoun after a preposition ("We sat under it." -> "Nos
  sentamos debajo de él / ella");
- plural things ("I bought two lamps. They were cheap." -> "... Eran baratas."), and two
  things of which English itself says which is meant, by naming it again ("I have a hat and a
  lamp. The lamp is broken. I will repair it tomorrow.", "The lamp is broken, so I will repair
  it.") or by what is done to it ("I bought a lamp and a novel. I read it in one night.").

No last sentence gives the gender away: each is said of things of both genders, so a model that
guesses from the last sentence alone is at chance (tests/corpora/test_rich.py measures it).

Held out of it, word for word: `corpora.stories`' held-out shape (its reserved nouns, and the
verbs, adjectives and people of `RESERVED`, are no word of these stories, in either language),
and every English sentence of the hand-written natural twins and of the held-out shape (a story
that would say one is drawn again). Nor are the held-out shape's verbs and adjectives used in
another form (fix, keep, hide, clean, throw, forget, play, heavy, dirty, wet: "Can you repair
it?", "It was stained." stand in for some). The natural twins' nouns may occur: a model must
know their translation to be tested on them.

`nmt prepare rich-stories --docs N --out DIR [--seed S]` writes `{train,dev,test}.{en,es,doc}`
and `{dev,test}.contrastive.jsonl` as `nmt prepare synthetic-stories` does (dev and test drawn
first, no training story one of theirs: `corpora.synthetic.draw_unseen`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from corpora.synthetic import (
    PronounDocument,
    Sources,
    build_synthetic_corpus,
    contrastive_item,
    draw_unseen,
    write_contrastive,
)
from translator.corpus import Document

# ---------------------------------------------------------------------------------------------
# Spanish and English word forms
# ---------------------------------------------------------------------------------------------

_VOWELS = "aeiouáéíóúü"
_STRONG = "aeoáéóíú"  # an accented i or u is a syllable of its own (hiatus), like a strong vowel
_ACCENT = str.maketrans("aeiou", "áéíóú")
_ACCENTED = "áéíóú"


def _nuclei(word: str) -> list[tuple[int, int]]:
    """The vowel nuclei of a Spanish word, one per syllable, as (start, end) spans.

    The u of que/qui/gue/gui is silent; a final y after a vowel is a vowel (hoy); two strong
    vowels side by side are two syllables (tra-e, le-e), a weak one joins its neighbour (prue-ba).
    """
    spans: list[tuple[int, int]] = []
    start = -1
    strong = False
    for i, ch in enumerate(word):
        silent_u = ch == "u" and i > 0 and word[i - 1] in "qg" and i + 1 < len(word) and word[i + 1] in "eiéí"
        vowel = (ch in _VOWELS and not silent_u) or (
            ch == "y" and i == len(word) - 1 and i > 0 and word[i - 1] in _VOWELS
        )
        if not vowel:
            if start >= 0:
                spans.append((start, i))
                start = -1
            continue
        is_strong = ch in _STRONG
        if start < 0:
            start, strong = i, is_strong
        elif is_strong and strong:  # hiatus: a new syllable
            spans.append((start, i))
            start, strong = i, True
        else:
            strong = strong or is_strong
    if start >= 0:
        spans.append((start, len(word)))
    return spans


def _stressed(word: str, spans: list[tuple[int, int]]) -> int:
    """The index of the stressed nucleus: the written accent's, else by the rules of stress."""
    for k, (a, b) in enumerate(spans):
        if any(ch in _ACCENTED for ch in word[a:b]):
            return k
    if word[-1] in _VOWELS + "ns":
        return max(len(spans) - 2, 0)
    return len(spans) - 1


def attach(verb: str, clitics: str) -> str:
    """An imperative, infinitive or gerund with its clitics, accented where Spanish writes it.

    lava+lo -> lávalo, trae+lo -> tráelo, da+melo -> dámelo, pon+lo -> ponlo, lavar+lo -> lavarlo,
    enviar+melo -> enviármelo, lavando+lo -> lavándolo, envía+lo -> envíalo.
    """
    spans = _nuclei(verb)
    k = _stressed(verb, spans)
    after = len(spans) - 1 - k + len(_nuclei(clitics))
    if after >= 2 and not any(ch in _ACCENTED for ch in verb):
        a, b = spans[k]
        nucleus = verb[a:b]
        strong = [i for i, ch in enumerate(nucleus) if ch in "aeo"]
        at = a + (strong[0] if strong else len(nucleus) - 1)
        verb = verb[:at] + verb[at].translate(_ACCENT) + verb[at + 1 :]
    return verb + clitics


_PERSONS = ("1s", "2s", "3s", "1p", "3p")


@dataclass(frozen=True)
class SpanishVerb:
    """The forms of a Spanish verb that the endings use (five persons: 1s 2s 3s 1p 3p)."""

    inf: str
    pret: tuple[str, ...]
    fut: tuple[str, ...]
    pres: tuple[str, ...]
    imp: str  # tú, affirmative
    subj: str  # tú, present subjunctive: the negative imperative
    pp: str
    ger: str

    def form(self, tense: str, person: str) -> str:
        return {"pret": self.pret, "fut": self.fut, "pres": self.pres}[tense][_PERSONS.index(person)]


def _before_e(stem: str) -> str:
    """An -ar stem before e: busc -> busqu, pag -> pagu, cruz -> cruc."""
    for old, new in (("c", "qu"), ("gu", "gü"), ("g", "gu"), ("z", "c")):
        if stem.endswith(old):
            return stem[: -len(old)] + new
    return stem


def _before_ao(stem: str, ending: str) -> str:
    """An -er/-ir stem before a or o: recog -> recoj, sigu -> sig, ofrec -> ofrezc, venc -> venz."""
    if stem.endswith("gu") and ending == "ir":
        return stem[:-1]
    if stem.endswith("g"):
        return stem[:-1] + "j"
    if stem.endswith("c"):
        return stem[:-1] + ("zc" if stem[-2:-1] in _VOWELS else "z")
    return stem


def _change(stem: str, change: str) -> str:
    """The stressed stem of a stem-changing verb: encend -> enciend, prob -> prueb, serv -> sirv."""
    vowel = "o" if change == "ue" else "e"
    at = stem.rfind(vowel)
    return stem[:at] + change + stem[at + 1 :] if change != "i" else stem[:at] + "i" + stem[at + 1 :]


def spanish_verb(spec: str) -> SpanishVerb:
    """Conjugate `spec`: an infinitive, then `|`-separated irregularities.

    `ie`, `ue`, `i`: the stem change; `í`: the -iar verbs that stress the i (envío, envía);
    `key=forms` replaces forms: pret / pres (five persons), fut (the stem), imp, subj, pp, ger.
    """
    inf, *marks = spec.split("|")
    stem, ending = inf[:-2], inf[-2:]
    extra = dict(m.split("=", 1) for m in marks if "=" in m)
    change = next((m for m in marks if m in ("ie", "ue", "i")), "")
    stressed_i = "í" in marks
    strong = _change(stem, change) if change else stem
    if stressed_i:
        strong = stem[: stem.rfind("i")] + "í" + stem[stem.rfind("i") + 1 :]
    vowel_stem = stem[-1:] in "aeo"  # le-er: leyó, leído
    if ending == "ar":
        pret = [_before_e(stem) + "é", stem + "aste", stem + "ó", stem + "amos", stem + "aron"]
        pres = [strong + "o", strong + "as", strong + "a", stem + "amos", strong + "an"]
        subj = _before_e(strong) + "es"
        pp, ger = stem + "ado", stem + "ando"
    else:
        raised = _change(stem, "i") if change == "i" or (change == "ie" and ending == "ir") else stem
        if change == "ue" and ending == "ir":
            raised = stem[: stem.rfind("o")] + "u" + stem[stem.rfind("o") + 1 :]
        uir = inf.endswith("uir") and not inf.endswith(("guir", "quir"))
        y = "y" if (vowel_stem or uir) else "i"
        pret = [
            stem + "í",
            stem + ("íste" if vowel_stem else "iste"),
            raised + y + "ó",
            stem + ("ímos" if vowel_stem else "imos"),
            raised + y + "eron",
        ]
        first = strong + "y" if uir else _before_ao(strong, ending)
        third = strong + "y" if uir else strong
        pres = [first + "o", third + "es", third + "e", stem + ("emos" if ending == "er" else "imos"), third + "en"]
        subj = first + "as"
        pp = stem + ("ído" if vowel_stem else "ido")
        ger = raised + ("yendo" if (vowel_stem or uir) else "iendo")
    fut_stem = extra.get("fut", inf)
    fut = [fut_stem + e for e in ("é", "ás", "á", "emos", "án")]
    pret = extra["pret"].split() if "pret" in extra else pret
    pres = extra["pres"].split() if "pres" in extra else pres
    imp = extra.get("imp", pres[2])
    return SpanishVerb(
        inf,
        tuple(pret),
        tuple(fut),
        tuple(pres),
        imp,
        extra.get("subj", subj),
        extra.get("pp", pp),
        extra.get("ger", ger),
    )


@dataclass(frozen=True)
class EnglishVerb:
    """An English verb phrase with `*` where its object goes ("turn * on", "look for *")."""

    base: str
    past: str
    pp: str
    ing: str
    s3: str

    def form(self, name: str, obj: str) -> str:
        return str(getattr(self, name)).replace("*", obj)

    @property
    def ambiguous_past(self) -> bool:
        """ "I cut it" / "I read it" could be present: such a past needs a subject or a time to say so."""
        return self.past == self.base


def english_verb(spec: str) -> EnglishVerb:
    """`head[:past:pp[:ing]] rest`: "wash", "take:took:taken * home"... the head's irregular forms."""
    head, _, rest = spec.partition(" ")
    if "*" not in spec:
        rest = f"{rest} *".strip()
    parts = head.split(":")
    word = parts[0]
    past = parts[1] if len(parts) > 1 else _english_past(word)
    pp = parts[2] if len(parts) > 2 else past
    ing = parts[3] if len(parts) > 3 else _english_ing(word)
    if word.endswith(("s", "x", "z", "ch", "sh", "o")):
        s3 = word + "es"
    elif word.endswith("y") and word[-2:-1] not in "aeiou":
        s3 = word[:-1] + "ies"
    else:
        s3 = word + "s"

    def phrase(verb: str) -> str:
        return f"{verb} {rest}".strip()

    return EnglishVerb(phrase(word), phrase(past), phrase(pp), phrase(ing), phrase(s3))


def _english_past(word: str) -> str:
    if word.endswith("e"):
        return word + "d"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ied"
    return word + "ed"


def _english_ing(word: str) -> str:
    if word.endswith("ie"):
        return word[:-2] + "ying"
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe")):
        return word[:-1] + "ing"
    return word + "ing"


def article(word: str) -> str:
    """English a / an before `word`."""
    w = word.lower()
    if w.startswith(("hour", "honest", "heir")):
        return "an"
    if w.startswith(("uni", "use", "usu", "eu", "one")):
        return "a"
    return "an" if w[:1] in "aeiou" else "a"


def _capital(text: str) -> str:
    """The first letter upper-cased, after any opening ¿ ¡ or quote."""
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1 :]
    return text


_SPACES = re.compile(r"\s+")
_CONTRACT = re.compile(r"\b([Aa]|[Dd]e) el\b")
_Y_TO_E = re.compile(r"\b([Yy]) (?=(?:[iIíÍ]|[hH][iIíÍ])(?![aeoáéó]))")


def polish_spanish(text: str) -> str:
    """Contractions (de el -> del, a el -> al), y -> e before an i sound, spacing and the capital."""
    text = _SPACES.sub(" ", text).strip()
    text = _CONTRACT.sub(lambda m: {"a": "al", "A": "Al", "de": "del", "De": "Del"}[m.group(1)], text)
    text = _Y_TO_E.sub(lambda m: "E " if m.group(1) == "Y" else "e ", text)
    text = re.sub(r" ([,.!?:;])", r"\1", text)
    text = re.sub(r"([¿¡]) ", r"\1", text)
    return _capital(text)


def polish_english(text: str) -> str:
    text = _SPACES.sub(" ", text).strip()
    text = re.sub(r" ([,.!?:;])", r"\1", text)
    return _capital(text)


# ---------------------------------------------------------------------------------------------
# Things
# ---------------------------------------------------------------------------------------------

# What every thing of a class can have done to it (a noun's line adds its own tags).
CLASS_TAGS = {
    "animal": "see photo touch",
    "food": "see eat taste buy portable touch smell count kitchen",
    "mass": "eat taste buy smell kitchen",
    "drink": "drink taste buy kitchen",
    "clothing": "see wear wash buy own portable find lose touch wrap gift count attic",
    "linen": "see wash fold buy own portable touch",
    "bag": "see buy own portable find lose touch hold use gift",
    "jewel": "see wear buy own portable find lose touch wrap polish bury gift count handmade",
    "small": "see buy own portable find lose touch hold pickup count",
    "container": "see buy own portable touch count kitchen",
    "text": "see own portable find lose touch count",
    "work": "talk remember",
    "abstract": "talk",
    "event": "talk remember think organise cancel",
    "time": "remember think spend",
    "building": "see photo big near",
    "monument": "see photo",
    "nature": "see photo",
    "room": "enter paint sweep",
    "fixture": "see paint touch repair",
    "furniture": "see buy own touch move repair attic",
    "vehicle": "see buy own touch wash repair paint use",
    "device": "see buy own touch repair switch use",
    "tool": "see buy own portable find lose touch hold use",
    "weapon": "see portable touch hold",
    "toy": "see buy own portable find lose touch wrap gift count attic",
    "instrument": "see buy own touch attic",
    "plant": "see photo water plant touch",
    "sky": "see photo watch",
    "body": "body",
}

# english[/plural] ; spanish[/plural] ; m|f ; class tags... ; e (everyday) b (Bible-world).
# A plural of "-": a mass noun (some bread) or no plural. A key "cup#b" is a second sense of "cup".
_NOUNS = """
dog ; perro ; m ; animal own buy feed wash brush tie pet find lose chase adopt tame garden field ; e
cat ; gato ; m ; animal own buy feed pet find lose chase adopt tame brush garden ; e
horse ; caballo ; m ; animal own buy feed wash brush tie farm saddle falloff tame fast field ; eb
cow ; vaca ; f ; animal own buy feed tie farm tame field ; eb
donkey ; asno ; m ; animal own buy feed brush tie farm saddle falloff tame slow field ; eb
camel ; camello ; m ; animal own buy feed tie farm saddle falloff field ; b
goat ; cabra ; f ; animal own buy feed tie farm chase shear offer slay field count ; eb
sheep/sheep ; oveja ; f ; animal own buy feed farm shear offer slay chase field count ; eb
lamb ; cordero ; m ; animal own buy feed farm shear offer slay field count ; eb
ox/oxen ; buey/bueyes ; m ; animal own buy feed tie farm offer slay field count ; b
calf/calves ; becerro ; m ; animal own buy feed farm offer slay field count ; b
ram ; carnero ; m ; animal own buy farm shear offer slay field count ; b
dove ; paloma ; f ; animal watch catch offer feed count ; eb
raven ; cuervo ; m ; animal watch count ; b
lion ; león/leones ; m ; animal wild slay watch dangerous field ; b
bear ; oso ; m ; animal wild slay watch dangerous ; eb
wolf/wolves ; lobo ; m ; animal wild watch dangerous slay ; eb
fox/foxes ; zorro ; m ; animal wild watch garden ; e
hen ; gallina ; f ; animal own buy feed farm catch chase garden count ; eb
rooster ; gallo ; m ; animal own buy feed farm catch chase garden count ; e
mule ; mula ; f ; animal own buy feed brush tie farm saddle falloff tame slow field ; eb
mare ; yegua ; f ; animal own buy feed brush tie farm saddle falloff tame fast field ; eb
pig ; cerdo ; m ; animal own buy feed farm chase count ; e
mouse/mice ; ratón/ratones ; m ; animal catch ; e
squirrel ; ardilla ; f ; animal watch garden ; e
owl ; búho ; m ; animal watch ; e
bee ; abeja ; f ; animal garden ; e
butterfly/butterflies ; mariposa ; f ; animal catch chase watch garden ; e
snake ; serpiente ; f ; animal wild dangerous watch garden ; e
serpent ; serpiente ; f ; animal wild dangerous slay field ; b
parrot ; loro ; m ; animal own buy feed pet adopt ; e
fish/fish ; pez/peces ; m ; animal catch watch feed pet count ; eb
whale ; ballena ; f ; animal wild watch ; e
dolphin ; delfín/delfines ; m ; animal wild watch ; e
goose/geese ; ganso ; m ; animal own feed farm chase garden ; e
lizard ; lagartija ; f ; animal catch watch garden ; e
hamster ; hámster/hámsteres ; m ; animal own buy feed pet adopt ; e
guinea pig ; cobaya ; f ; animal own buy feed pet adopt ; e
chinchilla ; chinchilla ; f ; animal own buy feed pet adopt ; e
kitten ; gatito ; m ; animal own feed pet adopt chase tame garden ; e
puppy/puppies ; cachorro ; m ; animal own feed pet adopt chase tame wash brush garden ; e
deer/deer ; ciervo ; m ; animal wild watch ; e
bird ; pájaro ; m ; animal watch catch feed pet garden ; eb
giraffe ; jirafa ; f ; animal watch tall ; e
monkey ; mono ; m ; animal watch feed ; e
crab ; cangrejo ; m ; animal catch ; e
hare ; liebre ; f ; animal wild chase field ; eb
apple ; manzana ; f ; food fruit peel wash cut make gift ; eb
orange ; naranja ; f ; food fruit peel cut ; e
pear ; pera ; f ; food fruit peel wash ; e
banana ; plátano ; m ; food fruit peel ; e
lemon ; limón/limones ; m ; food fruit cut bitter ; e
melon ; melón/melones ; m ; food fruit cut ; eb
watermelon ; sandía ; f ; food fruit cut ; e
peach/peaches ; melocotón/melocotones ; m ; food fruit peel wash ; e
egg ; huevo ; m ; food cook peel raw ; eb
cake ; pastel ; m ; food cut bake decorate order make ready gift ; e
pie ; tarta ; f ; food cut bake decorate order make ready ; e
loaf/loaves ; pan/panes ; m ; food breakbread bless offer cut bake hardfood ; b
cake#b ; torta ; f ; food breakbread offer bake ; b
sandwich/sandwiches ; bocadillo ; m ; food order cut make ; e
pizza ; pizza ; f ; food order cut heat bake ready frozen ; e
tomato/tomatoes ; tomate ; m ; food fruit wash cut ; e
potato/potatoes ; patata ; f ; food peel wash cook cut raw ; e
onion ; cebolla ; f ; food peel cut cook ; e
carrot ; zanahoria ; f ; food peel wash cut cook raw ; e
cucumber ; pepino ; m ; food peel wash cut ; e
fig ; higo ; m ; food fruit ; b
pomegranate ; granada ; f ; food fruit cut ; b
biscuit ; galleta ; f ; food make hardfood ; e
sausage ; salchicha ; f ; food cook cut salty raw ; e
pepper ; pimiento ; m ; food wash cut cook ; e
mushroom ; seta ; f ; food cook cut wash ; e
pineapple ; piña ; f ; food fruit peel cut ; e
strawberry/strawberries ; fresa ; f ; food fruit wash ; e
mango/mangoes ; mango ; m ; food fruit peel cut ; e
ice cream ; helado ; m ; food order frozen ; e
salad ; ensalada ; f ; food prepare order make ready salty ; e
omelette ; tortilla ; f ; food cook cut prepare order make bake salty ; e
chicken ; pollo ; m ; food cook cut raw salty bake frozen ; e
bread/- ; pan ; m ; mass cut breakbread bless bake fresh hardfood ; eb
cheese/- ; queso ; m ; mass cut salty fresh hardfood ; e
rice/- ; arroz ; m ; mass cook heat bake salty ; e
meat/- ; carne ; f ; mass cook cut raw salty frozen bake hardfood ; eb
soup/- ; sopa ; f ; mass heat prepare make ready salty ; e
honey/- ; miel ; f ; mass ; eb
butter/- ; mantequilla ; f ; mass ; e
jam/- ; mermelada ; f ; mass make ; e
pasta/- ; pasta ; f ; mass cook heat salty ; e
chocolate/- ; chocolate ; m ; mass ; e
flour/- ; harina ; f ; mass -eat -taste ; eb
milk/- ; leche ; f ; drink heat fresh ; eb
wine/- ; vino ; m ; drink bless offer bitter ; eb
coffee/- ; café ; m ; drink heat bitter need order ; e
tea/- ; té ; m ; drink heat bitter order ; e
juice/- ; zumo ; m ; drink fresh order ; e
beer/- ; cerveza ; f ; drink bitter order ; e
lemonade/- ; limonada ; f ; drink fresh order make ; e
hat ; sombrero ; m ; clothing carry hang_cloth chase ; eb
cap ; gorra ; f ; clothing carry hang_cloth ; e
coat ; abrigo ; m ; clothing carry hang_cloth warm long sew ; e
jacket ; chaqueta ; f ; clothing carry hang_cloth warm sew ; e
shirt ; camisa ; f ; clothing iron hang_cloth sew fold crease ; e
T-shirt ; camiseta ; f ; clothing iron fold crease ; e
dress/dresses ; vestido ; m ; clothing iron hang_cloth sew long make crease ; e
skirt ; falda ; f ; clothing iron hang_cloth sew long make crease ; e
sweater ; jersey/jerséis ; m ; clothing knit warm fold ; e
scarf/scarves ; bufanda ; f ; clothing knit carry warm long ; e
belt ; cinturón/cinturones ; m ; clothing ; e
tie ; corbata ; f ; clothing iron crooked ; e
sock ; calcetín/calcetines ; m ; clothing knit fold ; e
boot ; bota ; f ; clothing polish comfortable ; e
sandal ; sandalia ; f ; clothing comfortable ; eb
suit ; traje ; m ; clothing iron hang_cloth crease ; e
blouse ; blusa ; f ; clothing iron hang_cloth sew crease ; e
robe ; túnica ; f ; clothing long ; b
cloak ; manto ; m ; clothing warm long ; b
garment ; vestido ; m ; clothing ; b
girdle ; cinto ; m ; clothing ; b
apron ; delantal/delantales ; m ; clothing hang_cloth ; e
uniform ; uniforme ; m ; clothing iron hang_cloth ; e
raincoat ; impermeable ; m ; clothing carry hang_cloth ; e
towel ; toalla ; f ; linen hang_cloth dry ; e
tablecloth ; mantel/manteles ; m ; linen iron stain ; e
sheet ; sábana ; f ; linen iron ; e
napkin ; servilleta ; f ; linen stain ; e
handkerchief ; pañuelo ; m ; linen iron ; eb
cushion ; cojín/cojines ; m ; linen ; e
curtain ; cortina ; f ; linen long ; e
carpet ; alfombra ; f ; linen lookunder stain ; e
umbrella ; paraguas/paraguas ; m ; bag carry shade ; e
wallet ; cartera ; f ; bag carry holds ; e
handbag ; bolso ; m ; bag holds ; e
backpack ; mochila ; f ; bag carry holds lift ; e
suitcase ; maleta ; f ; bag holds lift lock writename open ; e
purse ; monedero ; m ; bag holds ; e
bag ; bolsa ; f ; bag holds writename lift ; eb
basket ; cesta ; f ; bag holds lift make handmade ; e
ring ; anillo ; m ; jewel ; eb
necklace ; collar/collares ; m ; jewel break ; e
bracelet ; pulsera ; f ; jewel break ; e
earring ; pendiente ; m ; jewel ; e
chain ; cadena ; f ; jewel break rust ; eb
crown ; corona ; f ; jewel gold ; eb
brooch/brooches ; broche ; m ; jewel ; e
medal ; medalla ; f ; jewel ; e
watch/watches ; reloj/relojes ; m ; jewel carry repair need ; e
seal ; sello ; m ; jewel gold ; b
key ; llave ; f ; small carry need bury rust entry ; e
coin ; moneda ; f ; small bury gold ; eb
comb ; peine ; m ; small ; e
brush/brushes ; cepillo ; m ; small ; e
mirror ; espejo ; m ; small break polish hang_wall crooked round ; eb
lighter ; mechero ; m ; small need ; e
torch/torches ; linterna ; f ; small switch need ; e
ticket ; billete ; m ; small carry print entry ; e
card ; tarjeta ; f ; small carry sign writename entry ; e
passport ; pasaporte ; m ; small carry need entry ; e
stamp ; sello ; m ; small ; e
pen ; bolígrafo ; m ; small need ; e
button ; botón/botones ; m ; small sew ; e
needle ; aguja ; f ; small ; e
soap/- ; jabón ; m ; small smell ; e
spoon ; cuchara ; f ; small wash carve ; e
fork ; tenedor/tenedores ; m ; small wash ; e
battery/batteries ; batería ; f ; small charge replace ; e
bulb ; bombilla ; f ; small replace break ; e
bone ; hueso ; m ; small bury -buy -own ; e
shell ; concha ; f ; small -buy ; e
stone ; piedra ; f ; small seat strike writeon anoint beside surface lookunder field carve ; eb
treasure ; tesoro ; m ; small bury -buy ; eb
box/boxes ; caja ; f ; container holds lift move open lock writename paint seat surface make round ; e
chest/chests ; baúl/baúles ; m ; container holds lift move open lock seat ; e
bottle ; botella ; f ; container liquid open drinkfrom holds ; e
jar ; tarro ; m ; container open holds ; e
jug ; jarra ; f ; container liquid drinkfrom handmade ; e
cup ; taza ; f ; container liquid drinkfrom writename break wash ; e
cup#b ; copa ; f ; container liquid drinkfrom gold bless polish ; b
glass/glasses ; vaso ; m ; container liquid drinkfrom break wash ; e
bowl ; cuenco ; m ; container liquid carve handmade gold ; eb
vessel ; vaso ; m ; container liquid drinkfrom gold ; b
pot ; olla ; f ; container cover wash ; e
pan ; sartén/sartenes ; f ; container wash ; e
vase ; jarrón/jarrones ; m ; container liquid break handmade ; e
barrel ; barril/barriles ; m ; container liquid holds move ; eb
pitcher ; cántaro ; m ; container liquid drinkfrom handmade ; b
tray ; bandeja ; f ; container wash ; e
drawer ; cajón/cajones ; m ; container holds open lock -portable ; e
envelope ; sobre ; m ; small holds open send ; e
parcel ; paquete ; m ; container holds open send wrap lift ; e
cage ; jaula ; f ; container cover ; e
book ; libro ; m ; text buy read wrap talk writename holds translate gift dust ; eb
letter ; carta ; f ; text read write send sign fold burn translate copy answer crease ; eb
map ; mapa ; m ; text read fold print study need carry hang_wall crease buy copy ; e
newspaper ; periódico ; m ; text read buy fold ; e
magazine ; revista ; f ; text read buy ; e
photo ; foto/fotos ; f ; text send print hang_wall crooked burn crease ; e
painting ; cuadro ; m ; text hang_wall crooked famous talk buy finish ; e
drawing ; dibujo ; m ; text hang_wall finish make copy ; e
poster ; cartel/carteles ; m ; text print hang_wall crooked ; e
calendar ; calendario ; m ; text print hang_wall ; e
note ; nota ; f ; text read write copy crease ; e
message ; mensaje ; m ; text read write send answer -own -portable -find -lose -touch -count ; e
list ; lista ; f ; text read write copy sign print long ; e
recipe ; receta ; f ; text read copy learn explain complicated ; e
scroll ; rollo ; m ; text read write cast burn writeon ; b
tablet ; tabla ; f ; text writeon carve ; b
postcard ; postal/postales ; f ; text read write send sign gift ; e
report ; informe ; m ; text read write print sign handin check finish ready long ; e
contract ; contrato ; m ; text read sign print check long ; e
bill ; cuenta ; f ; text check paybill -own ; e
fine ; multa ; f ; text paybill -own ; e
rent/- ; alquiler/- ; m ; abstract paybill talk ; e
tax/taxes ; impuesto ; m ; abstract paybill talk ; e
novel ; novela ; f ; text read buy talk translate long gift ; e
dictionary/dictionaries ; diccionario ; m ; text buy need use ; e
diary/diaries ; diario ; m ; text read write ; e
notebook ; cuaderno ; m ; text buy writename ; e
form ; formulario ; m ; text sign handin long -own ; e
application ; solicitud/solicitudes ; f ; text sign handin -own ; e
essay ; redacción/redacciones ; f ; text write read handin copy translate finish ready long -own ; e
email ; correo ; m ; text read write send answer long -own -portable -find -lose -see -touch -count ; e
invitation ; invitación/invitaciones ; f ; text read send entry ; e
poem ; poema ; m ; work write read learn translate understand copy long ; e
song ; canción/canciones ; f ; work sing listen learn write translate famous ; eb
story/stories ; historia ; f ; work tell listen write read translate long ; e
tale ; cuento ; m ; work tell listen write read long ; e
joke ; chiste ; m ; work tell explain understand ; e
secret ; secreto ; m ; work tell ; e
lie ; mentira ; f ; work tell ; e
film ; película ; f ; work film famous long ; e
programme ; programa ; m ; work film listen ; e
documentary/documentaries ; documental/documentales ; m ; work film ; e
series/series ; serie ; f ; work film long ; e
hymn ; himno ; m ; work sing learn ; eb
psalm ; salmo ; m ; work sing learn ; b
lullaby/lullabies ; nana ; f ; work sing learn ; e
speech/speeches ; discurso ; m ; work listen write prepare long ; e
record ; disco ; m ; work listen buy ; e
dance ; baile ; m ; work learn ; e
trick ; truco ; m ; work learn explain ; e
anecdote ; anécdota ; f ; work tell ; e
presentation ; presentación/presentaciones ; f ; work prepare ready long ; e
lesson ; lección/lecciones ; f ; abstract prepare explain understand learn study had long ; e
problem ; problema ; m ; abstract solve explain understand study had complicated ; e
plan ; plan/planes ; m ; abstract explain understand study had complicated ; e
idea ; idea ; f ; abstract explain understand had ; e
question ; pregunta ; f ; abstract answer understand complicated ; e
riddle ; adivinanza ; f ; abstract solve explain ; e
puzzle ; acertijo ; m ; abstract solve explain complicated ; e
crossword ; crucigrama ; m ; abstract solve complicated ; e
equation ; ecuación/ecuaciones ; f ; abstract solve explain complicated ; e
mystery/mysteries ; misterio ; m ; abstract solve ; e
rule ; regla ; f ; abstract explain understand learn complicated ; e
game ; juego ; m ; abstract explain learn complicated fun ; e
language ; idioma ; m ; abstract learn study complicated ; e
exam ; examen/exámenes ; m ; abstract study handin had long complicated ; e
call ; llamada ; f ; abstract answer long ; e
appointment ; cita ; f ; abstract cancel had ; e
flight ; vuelo ; m ; abstract cancel long ; e
order ; pedido ; m ; abstract cancel ; e
class/classes ; clase ; f ; abstract cancel prepare had long ; e
trip ; viaje ; m ; event prepare long ; e
party/parties ; fiesta ; f ; event prepare noisy ; eb
meeting ; reunión/reuniones ; f ; event had long ; e
match/matches ; partido ; m ; event film ; e
wedding ; boda ; f ; event ; e
concert ; concierto ; m ; event free long ; e
dinner ; cena ; f ; event prepare ready ; e
excursion ; excursión/excursiones ; f ; event free ; e
festival ; festival/festivales ; m ; event free ; e
competition ; concurso ; m ; event ; e
feast ; banquete ; m ; event ; b
day ; día ; m ; time long ; e
night ; noche ; f ; time long ; e
week ; semana ; f ; time long ; e
summer ; verano ; m ; time long ; e
winter ; invierno ; m ; time long ; e
morning ; mañana ; f ; time ; e
afternoon ; tarde ; f ; time ; e
weekend ; fin de semana/fines de semana ; m ; time ; e
house ; casa ; f ; building buy own sell dwell enter paint build behind destroy burn ; eb
tower ; torre ; f ; building climb dwell build destroy tall ; eb
church/churches ; iglesia ; f ; building visit enter behind full open ; e
castle ; castillo ; m ; building visit enter dwell famous ; e
temple ; templo ; m ; building visit enter build destroy ; b
tent ; tienda ; f ; building dwell sleep enter shade beside burn ; eb
cabin ; cabaña ; f ; building dwell sleep enter build buy rent ; e
hut ; choza ; f ; building dwell sleep enter build burn ; eb
barn ; granero ; m ; building sleep enter build destroy burn paint ; eb
shop ; tienda ; f ; building enter buy rent lock open full ; e
museum ; museo ; m ; building visit enter behind open famous ; e
school ; escuela ; f ; building enter build behind ; e
hospital ; hospital/hospitales ; m ; building enter build behind ; e
library/libraries ; biblioteca ; f ; building enter visit open ; e
station ; estación/estaciones ; f ; building enter full ; e
palace ; palacio ; m ; building visit enter dwell ; eb
inn ; posada ; f ; building sleep enter full ; b
apartment ; apartamento ; m ; building dwell rent buy own paint ; e
hotel ; hotel/hoteles ; m ; building sleep enter full ; e
restaurant ; restaurante ; m ; building enter full open noisy ; e
cafe ; cafetería ; f ; building enter full open noisy ; e
mill ; molino ; m ; building ; eb
lighthouse ; faro ; m ; building visit ; e
chapel ; capilla ; f ; building visit enter ; e
farm ; granja ; f ; building buy visit ; e
stable ; establo ; m ; building sleep build ; eb
shed ; cobertizo ; m ; building build destroy paint ; e
altar ; altar/altares ; m ; monument build destroy anoint beside writeon big carve ; b
pillar ; columna ; f ; monument anoint big tall ; b
statue ; estatua ; f ; monument carve big famous ; e
idol ; ídolo ; m ; monument carve destroy cast burn gold ; b
image ; imagen/imágenes ; f ; monument carve destroy cast gold ; b
well ; pozo ; m ; nature drinkfrom beside deep field near ; eb
fountain ; fuente ; f ; nature drinkfrom beside near big ; e
cistern ; cisterna ; f ; nature drinkfrom deep ; b
bridge ; puente ; m ; building cross shade build destroy long narrow ; eb
wall ; muro ; m ; building seat climb build destroy writeon surface tall long ; eb
fence ; valla ; f ; fixture build surface crooked long tall ; e
gate ; verja ; f ; fixture open lock rust ; e
river ; río ; m ; nature cross drinkfrom swim long deep near dry frozen ; eb
lake ; lago ; m ; nature swim deep frozen near ; e
beach/beaches ; playa ; f ; nature visit full long quiet ; e
island ; isla ; f ; nature visit ; e
hill ; colina ; f ; nature climb ; e
mountain ; montaña ; f ; nature climb tall ; e
mount ; monte ; m ; nature climb ; b
forest ; bosque ; m ; nature cross dark ; e
cave ; cueva ; f ; nature enter dwell sleep dark deep ; eb
field ; campo ; m ; nature cross buy water bless measure flood dry ; eb
garden ; jardín/jardines ; m ; nature water measure flood ; e
vineyard ; viña ; f ; nature buy plant bless ; b
road ; carretera ; f ; nature cross long narrow dangerous flood ; e
path ; sendero ; m ; nature long narrow ; e
street ; calle ; f ; nature cross long narrow sweep full quiet dark flood ; e
square ; plaza ; f ; nature cross full ; e
park ; parque ; m ; nature cross near ; e
desert ; desierto ; m ; nature cross ; b
valley/valleys ; valle ; m ; nature cross ; eb
stream ; arroyo ; m ; nature cross drinkfrom swim dry ; eb
pond ; estanque ; m ; nature swim frozen ; e
pool ; piscina ; f ; nature swim full ; e
meadow ; prado ; m ; nature cross ; e
orchard ; huerto ; m ; nature water plant ; eb
lagoon ; laguna ; f ; nature swim ; e
village ; pueblo ; m ; nature visit dwell quiet ; e
city/cities ; ciudad/ciudades ; f ; nature visit dwell destroy build burn ; eb
kitchen ; cocina ; f ; room flood dark ; e
room ; habitación/habitaciones ; f ; room lock measure dark cold ; e
hall ; pasillo ; m ; room long narrow dark ; e
attic ; desván/desvanes ; m ; room dark ; e
garage ; garaje ; m ; room lock flood ; e
cellar ; sótano ; m ; room flood dark cold ; e
bathroom ; baño ; m ; room flood ; e
office ; despacho ; m ; room lock ; e
balcony/balconies ; balcón/balcones ; m ; room ; e
terrace ; terraza ; f ; room ; e
yard ; patio ; m ; room ; e
living room ; salón/salones ; m ; room cold ; e
door ; puerta ; f ; fixture open lock measure install ; e
window ; ventana ; f ; fixture open lock break measure install ; e
roof ; tejado ; m ; fixture shade surface ; e
floor ; suelo ; m ; fixture sweep ; e
chimney/chimneys ; chimenea ; f ; fixture ; e
wall#in ; pared/paredes ; f ; fixture writename ; e
shower ; ducha ; f ; fixture install -paint ; e
tap ; grifo ; m ; fixture install -paint ; e
ceiling ; techo ; m ; fixture ; e
table ; mesa ; f ; furniture shade surface lookunder measure round writename make ; eb
chair ; silla ; f ; furniture seat falloff surface lookunder break make ; eb
bed ; cama ; f ; furniture seat sleep lookunder falloff comfortable ; eb
sofa ; sofá/sofás ; m ; furniture seat sleep lookunder falloff comfortable ; e
armchair ; sillón/sillones ; m ; furniture seat comfortable ; e
desk ; escritorio ; m ; furniture lookunder ; e
bench/benches ; banco ; m ; furniture seat surface lookunder falloff garden make ; e
wardrobe ; armario ; m ; furniture holds lock ; e
shelf/shelves ; estantería ; f ; furniture install ; e
stool ; taburete ; m ; furniture seat falloff make ; e
cradle ; cuna ; f ; furniture make handmade ; e
throne ; trono ; m ; furniture seat gold ; b
candlestick ; candelero ; m ; furniture polish gold ; b
hammock ; hamaca ; f ; furniture sleep comfortable garden ; e
mattress/mattresses ; colchón/colchones ; m ; furniture inflate comfortable ; e
lamp ; lámpara ; f ; device break ; eb
clock ; reloj/relojes ; m ; device hang_wall crooked round ; e
car ; coche ; m ; vehicle drive park rent lock need sleep lookunder surface ; e
bicycle ; bicicleta ; f ; vehicle park rent need falloff garden rust ; e
motorbike ; moto/motos ; f ; vehicle drive park falloff noisy ; e
truck ; camión/camiones ; m ; vehicle drive park noisy ; e
van ; furgoneta ; f ; vehicle drive park rent ; e
bus/buses ; autobús/autobuses ; m ; vehicle drive chase enter full noisy -buy -own ; e
boat ; barco ; m ; vehicle rent tie sleep ; eb
ship ; nave ; f ; vehicle ; b
canoe ; canoa ; f ; vehicle rent tie ; e
cart ; carro ; m ; vehicle push ; eb
chariot ; carro ; m ; vehicle burn ; b
tractor ; tractor/tractores ; m ; vehicle drive park noisy ; e
plane ; avión/aviones ; m ; vehicle full -buy -own -wash -paint ; e
train ; tren/trenes ; m ; vehicle full -buy -own -wash -paint ; e
scooter ; patinete ; m ; vehicle falloff ; e
caravan ; caravana ; f ; vehicle park rent sleep ; e
taxi/taxis ; taxi ; m ; vehicle drive park ; e
tram ; tranvía ; m ; vehicle full -buy -own -wash -paint ; e
sledge ; trineo ; m ; vehicle push ; e
ambulance ; ambulancia ; f ; vehicle -buy -own ; e
phone ; teléfono ; m ; device charge need carry answer ; e
radio ; radio ; f ; device listen need ; e
television ; televisor ; m ; device ; e
computer ; ordenador ; m ; device need ; e
laptop ; portátil/portátiles ; m ; device charge need ; e
camera ; cámara ; f ; device charge need ; e
printer ; impresora ; f ; device install noisy ; e
fridge ; nevera ; f ; device install need noisy kitchen ; e
oven ; horno ; m ; device install kitchen ; eb
heater ; estufa ; f ; device install ; e
washing machine ; lavadora ; f ; device install need noisy ; e
microwave ; microondas/microondas ; m ; device install kitchen ; e
calculator ; calculadora ; f ; device need ; e
light ; luz/luces ; f ; device install ; e
vacuum cleaner ; aspiradora ; f ; device noisy ; e
kettle ; hervidor/hervidores ; m ; device kitchen ; e
dishwasher ; lavavajillas/lavavajillas ; m ; device install noisy kitchen ; e
engine ; motor/motores ; m ; device check noisy ; e
sewing machine ; máquina de coser/máquinas de coser ; f ; device attic ; e
knife/knives ; cuchillo ; m ; tool sharpen rust slaywith ; eb
saw ; sierra ; f ; tool sharpen rust ; e
drill ; taladro ; m ; tool noisy ; e
screwdriver ; destornillador/destornilladores ; m ; tool rust ; e
spade ; pala ; f ; tool rust garden ; eb
hoe ; azada ; f ; tool rust garden ; e
broom ; escoba ; f ; tool ; e
stick ; palo ; m ; tool strike ; eb
staff/staffs ; vara ; f ; tool strike ; b
net ; red/redes ; f ; tool cast ; eb
plough ; arado ; m ; tool rust ; b
sickle ; hoz/hoces ; f ; tool sharpen rust ; b
wheel ; rueda ; f ; tool replace inflate check ; eb
paintbrush/paintbrushes ; pincel/pinceles ; m ; tool ; e
chisel ; cincel/cinceles ; m ; tool sharpen rust ; e
sword ; espada ; f ; weapon sharpen polish strike slaywith rust ; b
spear ; lanza ; f ; weapon sharpen slaywith rust ; b
shield ; escudo ; m ; weapon polish anoint gold ; b
bow ; arco ; m ; weapon slaywith ; b
arrow ; flecha ; f ; weapon ; b
dagger ; puñal/puñales ; m ; weapon sharpen slaywith rust ; b
club ; garrote ; m ; weapon strike slaywith ; b
sling ; honda ; f ; weapon slaywith ; b
ball ; pelota ; f ; toy chase catch inflate writename garden ; e
doll ; muñeca ; f ; toy carve make handmade ; e
kite ; cometa ; f ; toy chase make ; e
balloon ; globo ; m ; toy chase inflate ; e
jigsaw ; rompecabezas/rompecabezas ; m ; toy ; e
teddy bear ; osito de peluche/ositos de peluche ; m ; toy wash ; e
puppet ; marioneta ; f ; toy make handmade ; e
marble ; canica ; f ; toy ; e
skateboard ; monopatín/monopatines ; m ; toy falloff ; e
toy car ; coche de juguete/coches de juguete ; m ; toy ; e
drum ; tambor/tambores ; m ; instrument portable make ; eb
guitar ; guitarra ; f ; instrument portable need break ; e
piano ; piano ; m ; instrument move need ; e
flute ; flauta ; f ; instrument portable make ; eb
accordion ; acordeón/acordeones ; m ; instrument portable ; e
tambourine ; pandero ; m ; instrument portable ; b
organ ; órgano ; m ; instrument ; e
lyre ; lira ; f ; instrument portable ; b
tree ; árbol/árboles ; m ; plant shade tall beside near falloff cut garden field ; eb
flower ; flor/flores ; f ; plant smell cut gift garden ; e
rose ; rosa ; f ; plant smell cut gift garden ; e
bush/bushes ; arbusto ; m ; plant cut garden ; e
vine ; vid/vides ; f ; plant ; b
fig tree ; higuera ; f ; plant shade beside cut field ; b
olive tree ; olivo ; m ; plant shade beside cut field ; b
oak ; roble ; m ; plant shade tall cut ; eb
palm tree ; palmera ; f ; plant shade tall ; e
pine ; pino ; m ; plant shade tall cut ; e
apple tree ; manzano ; m ; plant shade cut garden ; e
sunflower ; girasol/girasoles ; m ; plant tall garden ; e
cactus/cacti ; cactus/cactus ; m ; plant gift ; e
orchid ; orquídea ; f ; plant smell gift ; e
lily/lilies ; lirio ; m ; plant smell cut ; eb
cedar ; cedro ; m ; plant tall cut ; b
plant ; planta ; f ; plant gift ; e
hedge ; seto ; m ; plant cut garden ; e
fern ; helecho ; m ; plant ; e
daisy/daisies ; margarita ; f ; plant garden ; e
tulip ; tulipán/tulipanes ; m ; plant smell cut gift garden ; e
star ; estrella ; f ; sky ; e
comet ; cometa ; m ; sky ; e
planet ; planeta ; m ; sky ; e
cloud ; nube ; f ; sky ; e
rainbow ; arcoíris/arcoíris ; m ; sky ; e
hand ; mano ; f ; body bone cold ; e
foot/feet ; pie ; m ; body bone cold ; e
arm ; brazo ; m ; body bone ; e
leg ; pierna ; f ; body bone ; e
knee ; rodilla ; f ; body ; e
finger ; dedo ; m ; body bone cold ; e
ankle ; tobillo ; m ; body bone ; e
shoulder ; hombro ; m ; body ; e
head ; cabeza ; f ; body ; e
nose ; nariz/narices ; f ; body bone cold ; e
neck ; cuello ; m ; body ; e
ear ; oreja ; f ; body cold ; e
eye ; ojo ; m ; body ; e
"""


@dataclass(frozen=True)
class Noun:
    """A thing: its English and Spanish, singular and plural (None: a mass noun), gender and tags."""

    key: str
    en: str
    en_pl: str | None
    es: str
    es_pl: str | None
    feminine: bool
    tags: frozenset[str]
    register: str  # "e", "b" or "eb"

    def english(self, plural: bool) -> str:
        return (self.en_pl or self.en) if plural else self.en

    def spanish(self, plural: bool) -> str:
        return (self.es_pl or self.es) if plural else self.es

    @property
    def mass(self) -> bool:
        return self.en_pl is None


def _english_plural(word: str) -> str:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _spanish_plural(word: str) -> str:
    head, _, rest = word.partition(" ")  # máquina de coser -> máquinas de coser
    if head.endswith("z"):
        head = head[:-1] + "ces"
    elif head[-1] in _VOWELS:
        head += "s"
    else:
        head += "es"
    return f"{head} {rest}".strip()


def _parse_nouns(text: str) -> dict[str, Noun]:
    nouns = {}
    for line in text.strip().splitlines():
        english, spanish, gender, tags, register = (f.strip() for f in line.split(";"))
        key, _, en_pl = english.partition("/")
        es, _, es_pl = spanish.partition("/")
        en = key.split("#")[0]
        mass = en_pl == "-"
        cls, *own = tags.split()
        all_tags = {cls, *CLASS_TAGS[cls].split()}
        all_tags |= {t for t in own if not t.startswith("-")}
        all_tags -= {t[1:] for t in own if t.startswith("-")}
        if mass:
            all_tags -= {"count"}
        nouns[key] = Noun(
            key,
            en,
            None if mass else en_pl or _english_plural(en),
            es,
            None if mass or es_pl == "-" else es_pl or _spanish_plural(es),
            gender == "f",
            frozenset(all_tags),
            register,
        )
    return nouns


NOUNS = _parse_nouns(_NOUNS)


# ---------------------------------------------------------------------------------------------
# People, determiners, adjectives before the noun
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    en: str
    es: str  # "" for he / she: Spanish drops the subject
    feminine: bool
    register: str
    kind: str  # pron (he, she), family (my sister), name, np (the waiter, the king)


def _parse_people(text: str) -> list[Person]:
    people = []
    for line in text.strip().splitlines():
        en, es, gender, register, kind = (f.strip() for f in line.split(";"))
        people.append(Person(en, "" if es == "-" else es, gender == "f", register, kind))
    return people


PEOPLE = _parse_people(
    """
he ; - ; m ; eb ; pron
she ; - ; f ; eb ; pron
my brother ; mi hermano ; m ; e ; family
my sister ; mi hermana ; f ; e ; family
my father ; mi padre ; m ; e ; family
my mother ; mi madre ; f ; e ; family
my uncle ; mi tío ; m ; e ; family
my grandfather ; mi abuelo ; m ; e ; family
my son ; mi hijo ; m ; e ; family
my daughter ; mi hija ; f ; e ; family
my husband ; mi marido ; m ; e ; family
my wife ; mi mujer ; f ; e ; family
the boy ; el niño ; m ; e ; np
the girl ; la niña ; f ; e ; np
the old man ; el anciano ; m ; e ; np
the old woman ; la anciana ; f ; e ; np
the waiter ; el camarero ; m ; e ; np
the waitress ; la camarera ; f ; e ; np
Ana ; Ana ; f ; e ; name
Carlos ; Carlos ; m ; e ; name
Elena ; Elena ; f ; e ; name
Pablo ; Pablo ; m ; e ; name
Marta ; Marta ; f ; e ; name
Luis ; Luis ; m ; e ; name
Clara ; Clara ; f ; e ; name
Diego ; Diego ; m ; e ; name
Julia ; Julia ; f ; e ; name
Mario ; Mario ; m ; e ; name
Irene ; Irene ; f ; e ; name
Hugo ; Hugo ; m ; e ; name
the king ; el rey ; m ; b ; np
the queen ; la reina ; f ; b ; np
the priest ; el sacerdote ; m ; b ; np
the prophet ; el profeta ; m ; b ; np
the shepherd ; el pastor ; m ; b ; np
the woman ; la mujer ; f ; b ; np
the man ; el hombre ; m ; b ; np
the widow ; la viuda ; f ; b ; np
the maid ; la criada ; f ; b ; np
the young man ; el joven ; m ; b ; np
Abraham ; Abraham ; m ; b ; name
Sarah ; Sara ; f ; b ; name
Moses ; Moisés ; m ; b ; name
Ruth ; Rut ; f ; b ; name
Jacob ; Jacob ; m ; b ; name
Rachel ; Raquel ; f ; b ; name
Joseph ; José ; m ; b ; name
Hannah ; Ana ; f ; b ; name
Miriam ; María ; f ; b ; name
Naomi ; Noemí ; f ; b ; name
Isaac ; Isaac ; m ; b ; name
Rebekah ; Rebeca ; f ; b ; name
Elijah ; Elías ; m ; b ; name
Deborah ; Débora ; f ; b ; name
Boaz ; Booz ; m ; b ; name
"""
)

# name: (English singular, English plural, Spanish m sg, f sg, m pl, f pl); None: not for that number
_D = tuple[str | None, str | None, tuple[str, str, str, str]]
DETERMINERS: dict[str, _D] = {
    "a": ("a", None, ("un", "una", "", "")),
    "some": ("some", "some", ("", "", "unos", "unas")),  # some bread: pan; some apples: unas manzanas
    "two": (None, "two", ("", "", "dos", "dos")),
    "three": (None, "three", ("", "", "tres", "tres")),
    "several": (None, "several", ("", "", "varios", "varias")),
    "a few": (None, "a few", ("", "", "unos cuantos", "unas cuantas")),
    "the": ("the", "the", ("el", "la", "los", "las")),
    "this": ("this", "these", ("este", "esta", "estos", "estas")),
    "that": ("that", "those", ("ese", "esa", "esos", "esas")),
    "that-past": ("that", None, ("aquel", "aquella", "", "")),
    "my": ("my", "my", ("mi", "mi", "mis", "mis")),
    "your": ("your", "your", ("tu", "tu", "tus", "tus")),
    "our": ("our", "our", ("nuestro", "nuestra", "nuestros", "nuestras")),
    "his": ("his", "his", ("su", "su", "sus", "sus")),
    "her": ("her", "her", ("su", "su", "sus", "sus")),
    "body": ("my", "my", ("el", "la", "los", "las")),  # my hand: la mano
}
# a group of an introduction: (singular count, plural, mass)
DETERMINER_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "a": (("a",), ("two", "three", "some", "several", "a few"), ("some",)),
    "the": (("the",), ("the",), ("the",)),
    "def": (
        ("the", "this", "that", "my", "your", "our"),
        ("the", "this", "that", "my", "your", "our"),
        ("the", "this"),
    ),
    "demo": (("this", "that"), ("this", "that"), ("this", "that")),
    "poss": (("my", "your", "our"), ("my", "your", "our"), ("my",)),
    "your": (("your",), ("your",), ()),
    "his": (("his",), ("his",), ("his",)),  # his or her, as the subject {P}
    "past": (("that-past",), (), ()),
    "body": (("body",), ("body",), ()),
}


@dataclass(frozen=True)
class IntroAdjective:
    en: str
    es: tuple[str, str, str, str]  # m sg, f sg, m pl, f pl
    compat: str


def _forms(spanish: str) -> tuple[str, str, str, str]:
    """The four forms of an adjective (or of the first word of a phrase): nuevo, nueva, nuevos, nuevas.

    `joven/jóvenes` gives the plural; words not in -o have one form for both genders (grande, de madera).
    """
    word, _, plural = spanish.partition("/")
    head, _, rest = word.partition(" ")
    tail = f" {rest}" if rest else ""
    if head in ("de",):  # a phrase: de madera, de oro
        return (word, word, word, word)
    if head.endswith("o"):
        stem = head[:-1]
        return (f"{stem}o{tail}", f"{stem}a{tail}", f"{stem}os{tail}", f"{stem}as{tail}")
    pl = plural or (head + "s" if head[-1] in _VOWELS else head + "es") + tail
    return (word, word, pl, pl)


INTRO_ADJECTIVES = [
    IntroAdjective(en, _forms(es), compat)
    for en, es, compat in (
        (
            "new",
            "nuevo",
            "clothing linen bag jewel small container building fixture furniture vehicle device tool toy instrument",
        ),
        (
            "old",
            "viejo",
            "clothing linen bag jewel container text building fixture furniture vehicle device tool toy instrument",
        ),
        (
            "beautiful",
            "precioso",
            "clothing linen bag jewel container building furniture toy instrument plant animal nature monument",
        ),
        (
            "small",
            "pequeño",
            "animal clothing bag jewel container building furniture vehicle device toy instrument plant nature room",
        ),
        ("big", "grande", "animal bag container building furniture vehicle device toy plant nature room"),
        ("red", "rojo", "clothing bag vehicle toy container fixture"),
        ("white", "blanco", "clothing linen vehicle furniture fixture container"),
        ("black", "negro", "clothing bag vehicle furniture device"),
        ("cheap", "barato", "buy & -animal -mass -drink -food"),
        ("expensive", "caro", "buy & -animal -mass -drink -food"),
        ("wooden", "de madera", "furniture toy fixture & -device"),
        ("golden", "de oro", "gold"),
        ("huge", "enorme", "building nature plant furniture vehicle & -small"),
        ("tiny", "diminuto", "jewel toy"),
        ("ancient", "antiguo", "building monument scroll weapon & b"),
        ("young", "joven/jóvenes", "farm pet"),
        ("ripe", "maduro", "fruit"),
        ("fresh", "fresco", "fresh"),
        ("second-hand", "de segunda mano", "vehicle device furniture instrument"),
        ("fat", "gordo", "farm"),
        ("quiet", "tranquilo", "quiet"),
        ("famous", "famoso", "famous"),
        ("long", "largo", "long & work event time"),
        ("wonderful", "maravilloso", "event time"),
        ("delicious", "delicioso", "food mass drink"),
    )
]


# ---------------------------------------------------------------------------------------------
# Sentences that introduce the things, and sentences in between
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intro:
    """A first sentence: {np} (or {np1} {np2}) the things, {P} a person, {his} the person's, {w} a place,
    {sg|pl} what differs with the number. `dets` names determiner groups, `numbers` s (one), p (several),
    m (a mass noun); `adj`: whether an adjective may come before the noun."""

    en: str
    es: str
    compat: str
    dets: str
    register: str
    numbers: str = "s"
    adj: bool = False
    where: tuple[tuple[str, str], ...] = ()


def _where(text: str) -> tuple[tuple[str, str], ...]:
    """`- | at the market=en el mercado | ...`: places (or times) after an introduction; `-` none."""
    out = []
    for item in text.split("|"):
        item = item.strip()
        if item == "-":
            out.append(("", ""))
        else:
            en, es = item.split("=")
            out.append((f" {en.strip()}", f" {es.strip()}"))
    return tuple(out)


_BOUGHT = _where("- | at the market=en el mercado | yesterday=ayer | last week=la semana pasada | in town=en el centro")
_FOUND = _where("in the street=en la calle | on the way home=de camino a casa | in the park=en el parque | -")
_SAW = _where("on the way=por el camino | from the window=desde la ventana | near the village=cerca del pueblo | -")
_PORTABLE = "small text jewel bag container food tool toy clothing"

INTRODUCTIONS = [
    # everyday
    Intro("I bought {np}{w}.", "Compré {np}{w}.", "buy", "a demo", "e", "spm", True, _BOUGHT),
    Intro("{P} has {np}.", "{P} tiene {np}.", "own", "a", "e", "sp", True),
    Intro("There {is|are} {np} in the garden.", "Hay {np} en el jardín.", "garden", "a", "e", "sp", True),
    Intro("There {is|are} {np} in the kitchen.", "Hay {np} en la cocina.", "kitchen", "a", "e", "spm", True),
    Intro("There {is|are} {np} in the attic.", "Hay {np} en el desván.", "attic", "a", "e", "sp", True),
    Intro("Look at {np}.", "Mira {np}.", "see", "demo", "e", "sp", True),
    Intro("Look at {np}!", "¡Mira {np}!", "see", "demo", "e", "sp", True),
    Intro("Look at {np}!", "¡Mira {np}!", "own", "poss", "e", "sp", True),
    Intro("I found {np}{w}.", "Encontré {np}{w}.", "find", "a", "e", "sp", True, _FOUND),
    Intro(
        "We need {np}.",
        "Necesitamos {np}.",
        "buy & furniture device vehicle tool container bag linen",
        "a",
        "e",
        "sp",
        True,
    ),
    Intro("Have you got {np}?", "¿Tienes {np}?", "small tool bag text container linen & portable", "a", "e", "sp"),
    Intro("Where {is|are} {np}?", "¿Dónde {está|están} {np}?", "find vehicle", "def", "e", "spm"),
    Intro("Do you like {np}?", "¿Te {gusta|gustan} {np}?", "own", "demo poss", "e", "sp", True),
    Intro("{P} bought {np}.", "{P} compró {np}.", "buy", "a", "e", "spm", True),
    Intro("{P} made {np}.", "{P} hizo {np}.", "make", "a", "e", "spm"),
    Intro("{P} sent me {np}.", "{P} me envió {np}.", "gift send", "a", "e", "sp", True),
    Intro("I received {np} from {P}.", "Recibí {np} de {P}.", "gift send", "a", "e", "sp", True),
    Intro(
        "We saw {np}{w}.",
        "Vimos {np}{w}.",
        "see & animal building nature plant vehicle monument",
        "a",
        "e",
        "sp",
        True,
        _SAW,
    ),
    Intro("{np} {is|are} in the kitchen.", "{np} {está|están} en la cocina.", "kitchen", "def", "e", "spm"),
    Intro("{np} {is|are} in the garden.", "{np} {está|están} en el jardín.", "garden", "def", "e", "sp"),
    Intro(
        "{np} belonged to my grandfather.",
        "{np} {era|eran} de mi abuelo.",
        "jewel furniture instrument clothing text device vehicle tool building & own",
        "the demo",
        "e",
        "sp",
    ),
    Intro("I have {np}.", "Tengo {np}.", "own", "a", "e", "sp", True),
    Intro("We rented {np} for the summer.", "Alquilamos {np} para el verano.", "rent", "a", "e", "s", True),
    Intro(
        "They built {np} near the school.",
        "Construyeron {np} cerca de la escuela.",
        "build & building fixture",
        "a",
        "e",
        "s",
    ),
    Intro("We visited {np} last summer.", "Visitamos {np} el verano pasado.", "visit", "a the", "e", "s", True),
    Intro("{P} planted {np} in the garden.", "{P} plantó {np} en el jardín.", "plant & plant", "a", "e", "sp"),
    Intro("I ordered {np}.", "Pedí {np}.", "order", "a", "e", "spm", True),
    Intro(
        "I still remember {np}{w}.",
        "Todavía recuerdo {np}{w}.",
        "time event",
        "past",
        "e",
        "s",
        True,
        _where("- | in the village=en el pueblo | in the mountains=en la montaña"),
    ),
    Intro("We spent {np} at the beach.", "Pasamos {np} en la playa.", "spend", "a", "e", "s", True),
    Intro("We went to {np} last night.", "Anoche fuimos a {np}.", "event", "a", "e", "s", True),
    Intro("There was {np} in the village.", "Hubo {np} en el pueblo.", "event", "a", "e", "s", True),
    Intro("{P} had {np}.", "{P} tuvo {np}.", "had", "a", "e", "s"),
    Intro("This morning we had {np}.", "Esta mañana tuvimos {np}.", "had", "a", "e", "s"),
    Intro("{P} wrote {np}.", "{P} escribió {np}.", "write", "a", "e", "sp"),
    Intro("We watched {np} last night.", "Anoche vimos {np}.", "film", "a", "e", "s", True),
    Intro("{P} told us {np}.", "{P} nos contó {np}.", "tell", "a", "e", "s"),
    Intro("I heard {np} on the radio.", "Oí {np} en la radio.", "listen & work", "a", "e", "s"),
    Intro("I hurt {np} at work.", "Me hice daño en {np} en el trabajo.", "body", "body", "e", "sp"),
    Intro("{np} {hurts|hurt} a lot.", "Me {duele|duelen} mucho {np}.", "body", "body", "e", "sp"),
    Intro("I broke {np} last year.", "Me rompí {np} el año pasado.", "bone", "body", "e", "s"),
    Intro("Last night we saw {np} in the sky.", "Anoche vimos {np} en el cielo.", "sky", "a", "e", "sp", True),
    Intro("I lost {np} on the bus.", "Perdí {np} en el autobús.", "lose", "poss", "e", "sp"),
    Intro("{P} lent me {np}.", "{P} me prestó {np}.", "own & portable vehicle", "a his", "e", "sp"),
    Intro("We need to talk about {np}.", "Tenemos que hablar de {np}.", "talk", "def", "e", "sm"),
    Intro("I'm looking for {np}.", "Estoy buscando {np}.", "find", "a def", "e", "sp", True),
    Intro(
        "{np} {is|are} on the table.",
        "{np} {está|están} sobre la mesa.",
        "small text jewel bag container food & portable",
        "def",
        "e",
        "spm",
    ),
    Intro("I've just bought {np}.", "Acabo de comprar {np}.", "buy", "a", "e", "spm", True),
    Intro("Can I borrow {np}?", "¿Me prestas {np}?", "own & portable vehicle", "your", "e", "sp"),
    Intro(
        "{P} painted {np}.", "{P} pintó {np}.", "paint & furniture fixture building vehicle room", "the his", "e", "s"
    ),
    Intro(
        "We bought {np} for the house.", "Compramos {np} para la casa.", "furniture linen device", "a", "e", "sp", True
    ),
    Intro("{P} wants {np}.", "{P} quiere {np}.", "buy", "a", "e", "sp", True),
    Intro("Yesterday {P} brought home {np}.", "Ayer {P} trajo a casa {np}.", "portable pet", "a", "e", "sp", True),
    # the Bible's narrative
    Intro("And he took {np}.", "Y tomó {np}.", "portable farm", "the a his", "b", "spm"),
    Intro("And {P} took {np}.", "Y {P} tomó {np}.", "portable farm", "the a his", "b", "spm"),
    Intro("And they brought {np} unto {P}.", "Y trajeron {np} a {P}.", "portable farm", "a the", "b", "spm"),
    Intro(
        "Behold, there {was|were} {np} in the field.", "He aquí, había {np} en el campo.", "field", "a", "b", "sp", True
    ),
    Intro("And {P} made {np} of gold.", "Y {P} hizo {np} de oro.", "gold", "a", "b", "sp"),
    Intro("And the man had {np}.", "Y el hombre tenía {np}.", "own & animal building nature", "a", "b", "sp", True),
    Intro(
        "And {P} saw {np} afar off.",
        "Y {P} vio {np} de lejos.",
        "see & building nature animal plant monument",
        "a",
        "b",
        "sp",
    ),
    Intro("And they found {np} by the way.", "Y hallaron {np} junto al camino.", "find farm", "a", "b", "sp"),
    Intro("And {P} built {np} there.", "Y {P} edificó allí {np}.", "build", "a", "b", "s"),
    Intro("And {P} bought {np} from the merchant.", "Y {P} compró {np} al mercader.", "buy", "a", "b", "spm"),
    Intro(
        "And there {was|were} {np} in the house of {P}.",
        "Y había {np} en la casa de {P}.",
        "portable furniture",
        "a",
        "b",
        "spm",
    ),
    Intro("And {P} planted {np}.", "Y {P} plantó {np}.", "plant & plant nature", "a", "b", "sp"),
    Intro("Now {P} had {np}.", "{P} tenía {np}.", "own", "a", "b", "sp", True),
    Intro(
        "And {P} set {np} upon the table.",
        "Y {P} colocó {np} sobre la mesa.",
        "food container small jewel & portable",
        "the",
        "b",
        "spm",
    ),
    Intro(
        "And {P} lifted up {his} eyes, and saw {np}.",
        "Y {P} alzó sus ojos y vio {np}.",
        "see & building nature animal plant monument",
        "a",
        "b",
        "s",
    ),
    Intro("And {P} sang {np}.", "Y {P} cantó {np}.", "sing", "a the", "b", "s"),
    Intro("And {P} made {np} for the people.", "Y {P} hizo {np} para el pueblo.", "event", "a", "b", "s"),
    Intro("And {P} dwelt in {np}.", "Y {P} habitó en {np}.", "dwell", "a the", "b", "s"),
    Intro("And {P} brought forth {np}.", "Y {P} sacó {np}.", "portable", "the a his", "b", "spm"),
]

# Two things in one sentence (nouns in the singular, with "a"); `compat` must hold of both.
MULTI_INTRODUCTIONS = [
    Intro("I have {np1} and {np2}.", "Tengo {np1} y {np2}.", "own", "a", "e"),
    Intro(
        "I bought {np1} and {np2}{w}.",
        "Compré {np1} y {np2}{w}.",
        "buy & -mass -drink -building",
        "a",
        "e",
        where=_BOUGHT,
    ),
    Intro("{P} has {np1} and {np2}.", "{P} tiene {np1} y {np2}.", "own", "a", "e"),
    Intro("There is {np1} and {np2} in the attic.", "Hay {np1} y {np2} en el desván.", "attic", "a", "e"),
    Intro("We found {np1} and {np2}{w}.", "Encontramos {np1} y {np2}{w}.", "find", "a", "e", where=_FOUND),
    Intro("And he took {np1} and {np2}.", "Y tomó {np1} y {np2}.", "portable farm & -mass -drink", "a", "b"),
    Intro(
        "And they brought {np1} and {np2} unto {P}.",
        "Y trajeron {np1} y {np2} a {P}.",
        "portable farm & -mass -drink",
        "a",
        "b",
    ),
]


@dataclass(frozen=True)
class Filler:
    """A sentence between the thing and the pronoun, with no thing English could call "it" or "they".

    {P} a person (Spanish {o} agrees with them), {his} their possessive; `plural`: it speaks of
    several people, who could be "they" (never in a story about several things).
    """

    en: str
    es: str
    register: str
    plural: bool = False


FILLERS = [
    Filler(en, es, register, plural)
    for en, es, register, plural in (
        ("{P} was very tired.", "{P} estaba muy cansad{o}.", "e", False),
        ("{P} was very happy.", "{P} estaba muy content{o}.", "e", False),
        ("{P} was in a hurry.", "{P} tenía prisa.", "e", False),
        ("{P} laughed.", "{P} se rio.", "e", False),
        ("{P} didn't say anything.", "{P} no dijo nada.", "e", False),
        ("{P} came home late.", "{P} volvió tarde a casa.", "e", False),
        ("{P} was surprised.", "{P} se sorprendió.", "e", False),
        ("{P} didn't believe me.", "{P} no me creyó.", "e", False),
        ("{P} phoned me in the evening.", "{P} me llamó por la tarde.", "e", False),
        ("{P} was angry with me.", "{P} estaba enfadad{o} conmigo.", "e", False),
        ("{P} went to bed early.", "{P} se acostó temprano.", "e", False),
        ("{P} asked me why.", "{P} me preguntó por qué.", "e", False),
        ("{P} was not at home.", "{P} no estaba en casa.", "e", False),
        ("{P} was very nervous.", "{P} estaba muy nervios{o}.", "e", False),
        ("{P} was still asleep.", "{P} todavía estaba dormid{o}.", "e", False),
        ("{P} was busy.", "{P} estaba ocupad{o}.", "e", False),
        ("{P} thanked me.", "{P} me dio las gracias.", "e", False),
        ("{P} was worried.", "{P} estaba preocupad{o}.", "e", False),
        ("{P} looked at me.", "{P} me miró.", "e", False),
        ("It was late.", "Era tarde.", "e", False),
        ("It was raining.", "Llovía.", "e", False),
        ("It was very cold that morning.", "Hacía mucho frío aquella mañana.", "e", False),
        ("After that we had dinner.", "Después cenamos.", "e", False),
        ("Then we went home.", "Luego volvimos a casa.", "e", False),
        ("We waited a little.", "Esperamos un poco.", "e", False),
        ("Nobody said anything.", "Nadie dijo nada.", "e", False),
        ("I called him.", "Lo llamé.", "e", False),
        ("I called her.", "La llamé.", "e", False),
        ("We waited for him.", "Lo esperamos.", "e", False),
        ("We waited for her.", "La esperamos.", "e", False),
        ("Nobody helped him.", "Nadie lo ayudó.", "e", False),
        ("Nobody helped her.", "Nadie la ayudó.", "e", False),
        ("I called {O}.", "Llamé a {P}.", "e", False),
        ("We waited for {O}.", "Esperamos a {P}.", "e", False),
        ("I told {O} everything.", "Se lo conté todo a {P}.", "e", False),
        ("Everyone laughed.", "Todos se rieron.", "e", True),
        ("My parents were very tired.", "Mis padres estaban muy cansados.", "e", True),
        ("The girls laughed.", "Las niñas se rieron.", "e", True),
        ("The children were very happy.", "Los niños estaban muy contentos.", "e", True),
        ("My sisters were at home.", "Mis hermanas estaban en casa.", "e", True),
        ("And {P} arose early in the morning.", "Y {P} se levantó de mañana.", "b", False),
        ("And {P} was afraid.", "Y {P} tuvo miedo.", "b", False),
        ("And {P} went out.", "Y {P} salió.", "b", False),
        ("And {P} answered, Here am I.", "Y {P} respondió: Heme aquí.", "b", False),
        ("And {P} was very old.", "Y {P} era muy ancian{o}.", "b", False),
        ("And {P} bowed down to the ground.", "Y {P} se inclinó hasta el suelo.", "b", False),
        ("And {P} held {his} peace.", "Y {P} calló.", "b", False),
        ("And {P} was glad.", "Y {P} se alegró.", "b", False),
        ("And {P} rose up and went.", "Y {P} se levantó y se fue.", "b", False),
        ("And {P} said unto {his} servant, Go.", "Y {P} dijo a su siervo: Ve.", "b", False),
        ("And {P} sat down.", "Y {P} se sentó.", "b", False),
        ("And {P} was troubled.", "Y {P} se turbó.", "b", False),
        ("And the woman answered him.", "Y la mujer le respondió.", "b", False),
        ("And it came to pass on the third day.", "Y aconteció al tercer día.", "b", False),
        ("And the people were glad.", "Y el pueblo se alegró.", "b", True),
        ("And the men were afraid.", "Y los hombres tuvieron miedo.", "b", True),
        ("And the women sang.", "Y las mujeres cantaron.", "b", True),
    )
]


# ---------------------------------------------------------------------------------------------
# Endings: verbs with an object clitic, adjectives, stressed pronouns after a preposition
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verb:
    """A verb of the clitic endings: which things it takes (`compat`), which frames (`mask`: P past,
    Q questions, F future, G going to, M modals, H perfect, I imperative, N don't, R -ing, S every day,
    K present state, D to someone, 2 plural things only), its complements and a fixed Spanish suffix."""

    en: EnglishVerb
    es: SpanishVerb
    compat: str
    register: str
    mask: str
    complements: tuple[tuple[str, str, str], ...]  # (English, Spanish, compat of the thing or "")
    suffix: str = ""  # cerrar con llave (lock)


def _complements(text: str) -> tuple[tuple[str, str, str], ...]:
    out = []
    for item in text.split("|"):
        item = item.strip()
        if not item:
            continue
        if item == "-":
            out.append(("", "", ""))
            continue
        pair, _, compat = item.partition("@")
        en, es = pair.split("=")
        out.append((f" {en.strip()}", f" {es.strip()}", compat.strip()))
    return tuple(out) or (("", "", ""),)


_VERBS = """
wash ; lavar ; wash ; eb ; PFGMHINQRS ; - | with soap=con jabón | by hand=a mano
buy:bought:bought ; comprar ; buy ; eb ; PFGMHINQ
    ; - | at the market=en el mercado | online=por internet@e | in town=en el centro@e
sell:sold:sold ; vender ; buy ; eb ; PFGMHINQD ; - | at the market=en el mercado | for a good price=a buen precio
find:found:found ; encontrar|ue ; find ; eb ; PFGMHIQ
    ; - | in the garden=en el jardín@e | at last=por fin | in the street=en la calle@e
lose:lost:lost ; perder|ie ; lose ; e ; PHNQ
    ; - | on the bus=en el autobús | at the beach=en la playa | in the park=en el parque
see:saw:seen ; ver|pres=veo ves ve vemos ven|pret=vi viste vio vimos vieron|imp=ve|subj=veas ; see ; eb ; PFMQ
    ; - | from the window=desde la ventana | in the distance=a lo lejos
look at ; mirar ; see ; e ; PFGMIQR ; - | for a long time=durante mucho rato | closely=de cerca
bring:brought:brought ; traer
    |pret=traje trajiste trajo trajimos trajeron
    |pres=traigo traes trae traemos traen
    |subj=traigas
    |pp=traído
    |ger=trayendo
    ; portable farm ; eb ; PFGMHINQD
    ; - | here=aquí | home=a casa
take:took:taken ; llevar ; portable farm ; e ; PFGMHINQD
    ; home=a casa | to school=al colegio@portable | to the market=al mercado | to the village=al pueblo
take:took:taken ; tomar ; portable ; b ; P ; - | in his hand=en su mano@small tool weapon jewel
open ; abrir|pp=abierto ; open ; eb ; PFGMHINQR ; - | slowly=despacio
close ; cerrar|ie ; open ; e ; PFGMHINQ ; - | quietly=sin hacer ruido
shut:shut:shut:shutting ; cerrar|ie ; open ; eb ; PIN ; -
break:broke:broken ; romper|pp=roto ; break ; e ; PHNQ ; - | by accident=sin querer
repair ; reparar ; repair ; e ; PFGMHIQR ; - | in an hour=en una hora | for free=gratis
paint ; pintar ; paint ; eb ; PFGMHIQR ; - | white=de blanco | blue=de azul | green=de verde
read:read:read ; leer ; read ; eb ; PFGMHIQRSD
    ; - | aloud=en voz alta | twice=dos veces | in one night=en una noche@long
write:wrote:written:writing ; escribir|pp=escrito ; write ; eb ; PFGMHIQR
    ; - | by hand=a mano | in one afternoon=en una tarde
send:sent:sent ; enviar|í ; send ; e ; PFGMHIQD ; - | by post=por correo
sign ; firmar ; sign ; e ; PFGMHIQ ; -
fold ; doblar ; fold ; e ; PFGMHIQ ; - | in two=en dos
iron ; planchar ; iron ; e ; PFGMHIQRS ; -
wear:wore:worn ; llevar ; wear ; e ; PFGHQS
    ; - | to the wedding=a la boda | to the party=a la fiesta | to work=al trabajo
eat:ate:eaten ; comer ; eat ; eb ; PFGMHINQ ; - | for breakfast=en el desayuno | with bread=con pan
drink:drank:drunk ; beber ; drink ; eb ; PFGMHINQ ; - | in one gulp=de un trago
cut:cut:cut:cutting ; cortar ; cut ; eb ; PFGMHINQ
    ; - | in two=en dos | into pieces=en trozos | with a knife=con un cuchillo
cook ; cocinar ; cook ; e ; PFGMHIQR ; - | for dinner=para la cena | with garlic=con ajo
heat * up ; calentar|ie ; heat ; e ; PFGMHIQ ; - | in the microwave=en el microondas
turn * on ; encender|ie ; switch ; e ; PFGMHINQ ; -
turn * off ; apagar ; switch ; e ; PFGMHINQ ; -
charge ; cargar ; charge ; e ; PFGMHIQS ; - | overnight=por la noche
fill ; llenar ; liquid holds ; eb ; PFGMHIQ ; - | with water=de agua@liquid
empty:emptied:emptied ; vaciar|í ; liquid holds ; eb ; PFGMHIQ ; -
feed:fed:fed ; alimentar ; feed ; eb ; PFGMHIQS ; - | in the morning=por la mañana
brush ; cepillar ; brush ; e ; PFGMHIQRS ; -
tie:tied:tied:tying ; atar ; tie ; eb ; PFGMHIQ ; to the tree=al árbol | to a post=a un poste
drive:drove:driven:driving ; conducir|pret=conduje condujiste condujo condujimos condujeron ; drive ; e ; PFGMHIQS
    ; - | to the village=hasta el pueblo | very slowly=muy despacio
park ; aparcar ; park ; e ; PFGMHIQ ; - | in front of the house=delante de la casa | in the street=en la calle
water ; regar|ie ; water ; e ; PFGMHIQS ; -
plant ; plantar ; plant ; eb ; PFGMHIQ ; in the garden=en el jardín@e | near the house=cerca de la casa | -
pick * up ; recoger ; pickup ; e ; PFGMHINQ ; - | from the floor=del suelo
hang:hung:hung ; colgar|ue ; hang_wall ; e ; PFGMHIQ ; on the wall=en la pared
hang:hung:hung ; colgar|ue ; hang_cloth ; e ; PFGMHIQ ; in the wardrobe=en el armario
move ; mover|ue ; move ; e ; PFGMHINQ ; - | to the corner=al rincón | a little=un poco
lift ; levantar ; lift ; eb ; PFGMHIQ ; - | with one hand=con una mano
push ; empujar ; move push ; e ; PFGMIQ ; -
drag:dragged:dragged:dragging ; arrastrar ; move ; e ; PFGMHIQ ; -
cover ; cubrir|pp=cubierto ; cover furniture bake ; eb ; PFGMHIQ
    ; with a cloth=con un paño | with a sheet=con una sábana@e
wrap:wrapped:wrapped:wrapping ; envolver|ue|pp=envuelto ; wrap ; e ; PFGMHIQ ; - | in paper=en papel
use ; usar ; use ; e ; PFMHQS ; -
need ; necesitar ; need ; e ; PFK ; -
lend:lent:lent ; prestar ; own & portable vehicle ; e ; PFMHIND ; -
bring:brought:brought * back ; devolver|ue|pp=devuelto ; own & portable vehicle ; e ; PFGMHIQD ; -
measure ; medir|i ; measure furniture fixture room ; e ; PFGMHIQ ; - | twice=dos veces
visit ; visitar ; visit ; e ; PFGMHQ ; -
cross ; cruzar ; cross ; eb ; PFGMHQ ; - | on foot=a pie | at night=de noche
build:built:built ; construir ; build ; e ; PFGMHQ ; - | in a year=en un año
build:built:built ; edificar ; build ; b ; PF ; -
destroy ; destruir ; destroy ; eb ; PFMHQ ; -
knock * down ; derribar ; destroy & building fixture ; e ; PFGMHQ ; -
burn:burned:burned ; quemar ; burn ; eb ; PFGMHNQ ; -
climb ; escalar ; climb ; eb ; PFGMHQ ; - | in an hour=en una hora
photograph ; fotografiar|í ; photo ; e ; PFGMHIQ ; -
draw:drew:drawn ; dibujar ; photo ; e ; PFGMHIQR ; -
watch ; observar ; watch ; e ; PFMQ ; - | for hours=durante horas
watch ; ver|pres=veo ves ve vemos ven|pret=vi viste vio vimos vieron|imp=ve|subj=veas ; film ; e ; PFGMQ
    ; - | on television=en la televisión
rent ; alquilar ; rent ; e ; PFGMHQ ; - | for a week=por una semana
sweep:swept:swept ; barrer ; sweep ; e ; PFGMHIQRS ; -
decorate ; decorar ; decorate room bake ; e ; PFGMHIQ ; -
sharpen ; afilar ; sharpen ; eb ; PFGMHIQ ; -
polish ; pulir ; polish ; eb ; PFGMHIQ ; -
sew:sewed:sewn ; coser ; sew ; e ; PFGMHIQ ; -
knit:knitted:knitted:knitting ; tejer ; knit ; e ; PFGHQR ; -
check ; revisar ; check device vehicle ; e ; PFGMHIQ ; -
taste ; probar|ue ; taste ; e ; PFGMHIQ ; -
order ; pedir|i ; order ; e ; PFGMHQ ; -
print ; imprimir|pp=impreso ; print ; e ; PFGMHIQ ; -
hand * in ; entregar ; handin ; e ; PFGMHIQ ; - | on time=a tiempo
translate ; traducir|pret=traduje tradujiste tradujo tradujimos tradujeron ; translate ; e ; PFGMHIQ ; -
copy:copied:copied ; copiar ; copy ; e ; PFGMHIQ ; -
study:studied:studied ; estudiar ; study ; e ; PFGMHQR ; -
solve ; resolver|ue|pp=resuelto ; solve ; e ; PFGMHQ ; -
answer ; contestar ; answer ; e ; PFGMHIQ ; -
explain ; explicar ; explain ; e ; PFGMHQD ; -
understand:understood:understood ; entender|ie ; understand ; e ; K ; -
remember ; recordar|ue ; remember ; e ; K ; - | well=bien
know:knew:known ; conocer ; visit sing ; e ; K ; well=bien
want ; querer|pres=quiero quieres quiere queremos quieren ; buy & -mass -drink ; e ; K ; -
sing:sang:sung ; cantar ; sing ; eb ; PFGMHIQR ; -
listen to ; escuchar ; listen ; e ; PFGMHIQR ; - | on the radio=en la radio
tell:told:told ; contar|ue ; tell ; e ; PFGMHQD ; -
learn ; aprender ; learn ; e ; PFGMHQ ; - | by heart=de memoria
organise ; organizar ; organise ; e ; PFGMHQ ; -
cancel:cancelled:cancelled:cancelling ; cancelar ; cancel ; e ; PFGMHQ ; -
prepare ; preparar ; prepare ; eb ; PFGMHIQR ; -
spend:spent:spent ; pasar ; spend ; e ; PFGQ
    ; at home=en casa | at the beach=en la playa | with my family=con mi familia
adopt ; adoptar ; adopt ; e ; PFGMHQ ; -
slay:slew:slain ; matar ; slay ; b ; P ; -
offer ; ofrecer ; offer ; b ; PF ; upon the altar=sobre el altar | -
bless ; bendecir
    |pret=bendije bendijiste bendijo bendijimos bendijeron
    |pres=bendigo bendices bendice bendecimos bendicen
    |subj=bendigas
    |pp=bendecido
    |ger=bendiciendo
    ; bless ; b ; PF
    ; -
break:broke:broken ; partir ; breakbread ; b ; P ; -
anoint ; ungir ; anoint ; b ; P ; with oil=con aceite
bury:buried:buried ; enterrar|ie ; bury ; eb ; PFGMHQ
    ; in the garden=en el jardín@e | in the sand=en la arena | under a tree=debajo de un árbol
cast:cast:cast:casting ; echar ; cast ; b ; P ; into the fire=al fuego | into the river=al río | into the sea=al mar
carve ; tallar ; carve ; eb ; PFHQ ; - | out of wood=en madera@e
look for ; buscar ; find ; eb ; PFGMHQR ; - | everywhere=por todas partes | all morning=toda la mañana@e
hold:held:held ; sujetar ; hold ; e ; IM ; - | for a moment=un momento
catch:caught:caught ; atrapar ; catch ; e ; PFMHQ ; -
count ; contar|ue ; count ; e ; PFGMHI2 ; - | again=otra vez
separate ; separar ; count & animal ; eb ; PFGMI2 ; -
choose:chose:chosen:choosing ; elegir|i ; buy & -mass -drink ; e ; PFGMHQ ; - | for my mother=para mi madre
smell:smelled:smelled ; oler|pres=huelo hueles huele olemos huelen|subj=huelas|imp=huele ; smell ; e ; PMQ ; -
touch ; tocar ; touch ; e ; PHNQ ; -
pay:paid:paid for ; pagar ; buy ; e ; PFGMHQ ; - | in cash=en efectivo | by card=con tarjeta
pay:paid:paid ; pagar ; paybill ; e ; PFGMHIQ ; - | on time=a tiempo
lock ; cerrar|ie ; lock ; e ; PFGMHIQ ; - ; con llave
replace ; cambiar ; replace device ; e ; PFGMHQ ; -
install ; instalar ; install ; e ; PFGMHQ ; -
inflate ; inflar ; inflate ; e ; PFGMHIQ ; -
shear:sheared:shorn ; esquilar ; shear ; eb ; PFGMHQ ; -
saddle ; ensillar ; saddle ; eb ; PFGMHIQ ; -
raise ; levantar ; body ; e ; B ; - | slowly=despacio
move ; mover|ue ; body ; e ; B ; -
peel ; pelar ; peel ; e ; PFGMHIQ ; -
serve ; servir|i ; mass drink bake salad ; e ; PFGMHIQ ; - | with rice=con arroz@-mass
take * out ; sacar ; small jewel text ; e ; PFGMHIQ
    ; of the box=de la caja | of the drawer=del cajón | of the bag=de la bolsa
"""


def _parse_verbs(text: str) -> list[Verb]:
    """One verb a line; a line that starts with spaces goes on the line before it."""
    joined = re.sub(r"\n\s+", " ", text.strip()).replace(" |", "|").replace("| ", "|")
    verbs = []
    for line in joined.splitlines():
        fields = [f.strip() for f in line.split(";")]
        en, es, compat, register, mask, comps = fields[:6]
        suffix = f" {fields[6]}" if len(fields) > 6 else ""
        verbs.append(Verb(english_verb(en), spanish_verb(es), compat, register, mask, _complements(comps), suffix))
    return verbs


VERBS = _parse_verbs(_VERBS)


@dataclass(frozen=True)
class Frame:
    """A sentence around a verb: `en` and `es` templates, the tense or mood, who its subjects may be.

    English: {S} subject, {base} {past} {pp} {ing} {s3} the verb phrase with its object, {c} the
    complement, {t} a time, {R} a recipient. Spanish: {S} named subject, {cl} the clitic, {f} the
    verb in the frame's `tense`, {inf} {imp} with the clitic attached ({infme} {impme}: "me" too),
    {subj}, {pp}, {ger}, {c}, {t}, {R}. `subjects`: I we he she they you P (a person);
    `time`: p (a past time may follow), f (a future one), h (an habitual one must).
    """

    group: str
    en: str
    es: str
    tense: str = ""
    subjects: str = ""
    time: str = ""
    register: str = "e"
    clause: bool = False  # may follow "The lamp is broken, so": says what one does (will do) about it


CLITIC_FRAMES = [
    Frame("P", "{S} {past}{c}{t}.", "{S}{cl} {f}{c}{t}.", "pret", "I we he she they P", "p", "e", True),
    Frame("P", "{S} didn't {base}{c}{t}.", "{S}no {cl} {f}{c}{t}.", "pret", "I we he she they P", "p", "e"),
    Frame("P", "{S} did not {base}{c}.", "{S}no {cl} {f}{c}.", "pret", "I we he P", "", "e"),
    Frame("P", "Then {S} {past}{c}.", "Entonces {S}{cl} {f}{c}.", "pret", "he she P", "", "eb"),
    Frame("P", "Yesterday {S} {past}{c}.", "Ayer {S}{cl} {f}{c}.", "pret", "I we he she P"),
    Frame("P", "And {S} {past}{c}.", "Y {S}{cl} {f}{c}.", "pret", "he she they P", "", "b"),
    Frame("P", "And {S} did not {base}{c}.", "Y {S}no {cl} {f}{c}.", "pret", "he they P", "", "b"),
    Frame("Q", "Did you {base}{c}?", "¿{cl} {f}{c}?", "pret", "you"),
    Frame("Q", "Where did you {base}?", "¿Dónde {cl} {f}{c}?", "pret", "you"),
    Frame("Q", "When did you {base}?", "¿Cuándo {cl} {f}{c}?", "pret", "you"),
    Frame("Q", "Why did you {base}?", "¿Por qué {cl} {f}{c}?", "pret", "you"),
    Frame("Q", "How did you {base}?", "¿Cómo {cl} {f}{c}?", "pret", "you"),
    Frame("Q", "Who {past}?", "¿Quién {cl} {f}{c}?", "pret", "he"),
    Frame("F", "{S} will {base}{c}{t}.", "{S}{cl} {f}{c}{t}.", "fut", "I we he she P", "f", "eb", True),
    Frame("F", "I'll {base}{c}{t}.", "{cl} {f}{c}{t}.", "fut", "I", "f", "e", True),
    Frame("F", "We'll {base}{c}{t}.", "{cl} {f}{c}{t}.", "fut", "we", "f", "e", True),
    Frame("G", "I'm going to {base}{c}{t}.", "Voy a {inf}{c}{t}.", "", "I", "f", "e", True),
    Frame("G", "I am going to {base}{c}{t}.", "Voy a {inf}{c}{t}.", "", "I", "f", "e", True),
    Frame("G", "We are going to {base}{c}{t}.", "Vamos a {inf}{c}{t}.", "", "we", "f", "e", True),
    Frame("G", "{S} is going to {base}{c}{t}.", "{S}va a {inf}{c}{t}.", "", "he she P", "f"),
    Frame("G", "Let's {base}{c}.", "Vamos a {inf}{c}.", "", "", "", "e", True),
    Frame("M", "Can you {base}{c}?", "¿Puedes {inf}{c}?"),
    Frame("M", "I can't {base}{c}.", "No puedo {inf}{c}."),
    Frame("M", "I want to {base}{c}{t}.", "Quiero {inf}{c}{t}.", time="f", clause=True),
    Frame("M", "We have to {base}{c}{t}.", "Tenemos que {inf}{c}{t}.", time="f", clause=True),
    Frame("M", "You should {base}{c}.", "Deberías {inf}{c}.", clause=True),
    Frame("M", "I tried to {base}{c}.", "Intenté {inf}{c}."),
    Frame("M", "{S} couldn't {base}{c}.", "{S}no pudo {inf}{c}.", subjects="he she P"),
    Frame("M", "Help me {base}{c}.", "Ayúdame a {inf}{c}."),
    Frame("M", "Go and {base}{c}.", "Ve a {inf}{c}."),
    Frame("M", "{S} needs to {base}{c}{t}.", "{S}necesita {inf}{c}{t}.", subjects="he she P", time="f"),
    Frame("M", "Do you want to {base}{c}?", "¿Quieres {inf}{c}?"),
    Frame("M", "I would like to {base}{c}.", "Me gustaría {inf}{c}."),
    Frame("H", "I have {pp}{c}.", "{cl} he {pp}{c}."),
    Frame("H", "I've {pp}{c}.", "{cl} he {pp}{c}."),
    Frame("H", "We have already {pp}{c}.", "Ya {cl} hemos {pp}{c}."),
    Frame("H", "Have you {pp} yet?", "¿Ya {cl} has {pp}{c}?"),
    Frame("H", "{S} has {pp}{c}.", "{S}{cl} ha {pp}{c}.", subjects="he she P"),
    Frame("H", "I haven't {pp} yet.", "Todavía no {cl} he {pp}{c}."),
    Frame("I", "{base}{c}.", "{imp}{c}.", clause=True),
    Frame("I", "Please {base}{c}.", "{imp}{c}, por favor."),
    Frame("I", "{base}{c}, please.", "{imp}{c}, por favor."),
    Frame("N", "Don't {base}{c}.", "No {cl} {subj}{c}."),
    Frame("N", "Please don't {base}{c}.", "Por favor, no {cl} {subj}{c}."),
    Frame("N", "Do not {base}{c}.", "No {cl} {subj}{c}.", register="eb"),
    Frame("R", "I am {ing}{c}.", "{cl} estoy {ger}{c}."),
    Frame("R", "{S} is {ing}{c} right now.", "{S}{cl} está {ger}{c} ahora mismo.", subjects="he she P"),
    Frame("R", "We are {ing}{c}.", "{cl} estamos {ger}{c}."),
    Frame("S", "I {base}{c}{t}.", "{cl} {f}{c}{t}.", "pres", "I", "h"),
    Frame("S", "We {base}{c}{t}.", "{cl} {f}{c}{t}.", "pres", "we", "h"),
    Frame("S", "{S} {s3}{c}{t}.", "{S}{cl} {f}{c}{t}.", "pres", "he she P", "h"),
    Frame("S", "Do you {base}{c}{t}?", "¿{cl} {f}{c}{t}?", "pres", "you", "h"),
    Frame("K", "I {base}{c}.", "{cl} {f}{c}.", "pres", "I"),
    Frame("K", "I don't {base}{c}.", "No {cl} {f}{c}.", "pres", "I"),
    Frame("K", "Do you {base}{c}?", "¿{cl} {f}{c}?", "pres", "you"),
    Frame("K", "{S} {s3}{c}.", "{S}{cl} {f}{c}.", "pres", "he she P"),
    Frame("K", "We {base}{c}.", "{cl} {f}{c}.", "pres", "we"),
    Frame("B", "I can't {base}{c}.", "No puedo {inf}{c}."),
    Frame("B", "I couldn't {base}{c}.", "No podía {inf}{c}."),
    Frame("B", "Try to {base}{c}.", "Intenta {inf}{c}."),
    Frame("B", "Can you {base}{c}?", "¿Puedes {inf}{c}?"),
    Frame("D", "{S} {past} to {R}.", "{S}se {cl} {f}{c} a {R}.", "pret", "I we he she P", "", "e"),
    Frame("D", "{base} to me.", "{impme}{c}."),
    Frame("D", "Can you {base} to me?", "¿Puedes {infme}{c}?"),
    Frame("D", "I will {base} to {R} tomorrow.", "Se {cl} {f}{c} a {R} mañana.", "fut", "I"),
    Frame("D", "And {S} {past} unto {R}.", "Y {S}se {cl} {f}{c} a {R}.", "pret", "he she P", "", "b"),
]

TIMES = {
    "p": [
        ("yesterday", "ayer"),
        ("last night", "anoche"),
        ("this morning", "esta mañana"),
        ("last week", "la semana pasada"),
        ("last Sunday", "el domingo pasado"),
        ("two days ago", "hace dos días"),
    ],
    "f": [
        ("tomorrow", "mañana"),
        ("tonight", "esta noche"),
        ("next week", "la semana que viene"),
        ("later", "más tarde"),
        ("next Monday", "el próximo lunes"),
    ],
    "h": [
        ("every day", "todos los días"),
        ("every morning", "todas las mañanas"),
        ("every week", "cada semana"),
        ("on Sundays", "los domingos"),
        ("every evening", "todas las tardes"),
    ],
}
_SUBJECT = {
    "I": ("I", "1s"),
    "we": ("we", "1p"),
    "he": ("he", "3s"),
    "she": ("she", "3s"),
    "they": ("they", "3p"),
    "you": ("you", "2s"),
    "P": ("", "3s"),
}


@dataclass(frozen=True)
class Adjective:
    """An adjective of the endings (Spanish in -o, so that it agrees): copula ser or estar, how it
    grades (0: not, 1: very / quite / so, 2: also too)."""

    en: str
    es: str  # masculine singular; of a phrase, its first word agrees (cubierto de polvo)
    copula: str
    grade: int
    compat: str


_ARTIFACT = (
    "clothing linen bag jewel small container text building fixture furniture vehicle device tool toy instrument weapon"
)
_CONCRETE = f"{_ARTIFACT} animal plant nature monument food sky"
ADJECTIVES = [
    Adjective(*row)
    for row in (
        ("new", "nuevo", "ser", 0, f"{_ARTIFACT} & -stone -shell -bone -treasure"),
        ("old", "viejo", "ser", 2, f"{_ARTIFACT} pet farm & -text"),
        ("old-fashioned", "anticuado", "ser", 1, "clothing device furniture vehicle"),
        ("pretty", "bonito", "ser", 1, f"{_CONCRETE} & see & -food -sky"),
        ("lovely", "precioso", "ser", 1, f"{_CONCRETE} work & -food -secret -lie -joke"),
        ("beautiful", "hermoso", "ser", 1, f"{_CONCRETE} work & -food -small -tool -secret -lie -joke"),
        ("ugly", "feo", "ser", 1, f"{_ARTIFACT} animal & see"),
        ("expensive", "caro", "ser", 2, "buy & -food -mass"),
        ("cheap", "barato", "ser", 1, "buy & -food -mass"),
        ("small", "pequeño", "ser", 2, f"{_CONCRETE} room & see & -mass"),
        ("long", "largo", "ser", 2, "long"),
        ("short", "corto", "ser", 2, "long & -time"),
        ("tall", "alto", "ser", 2, "tall"),
        ("low", "bajo", "ser", 2, "tall & building fixture"),
        ("wide", "ancho", "ser", 2, "narrow"),
        ("narrow", "estrecho", "ser", 2, "narrow"),
        ("round", "redondo", "ser", 0, "round"),
        ("square", "cuadrado", "ser", 0, "round"),
        ("white", "blanco", "ser", 0, "clothing linen vehicle furniture fixture animal & -wild"),
        ("black", "negro", "ser", 0, "clothing bag vehicle furniture device animal & -wild"),
        ("red", "rojo", "ser", 0, "clothing bag vehicle toy fixture"),
        ("yellow", "amarillo", "ser", 0, "clothing bag vehicle toy"),
        ("dark", "oscuro", "estar", 1, "dark"),
        ("modern", "moderno", "ser", 1, "building device furniture vehicle"),
        ("light", "ligero", "ser", 2, "portable & -food -text"),
        ("hard", "duro", "estar", 2, "hardfood"),
        ("hard", "duro", "ser", 2, "seat sleep & furniture"),
        ("soft", "blando", "ser", 2, "seat sleep & furniture"),
        ("deep", "profundo", "ser", 2, "deep"),
        ("famous", "famoso", "ser", 1, "famous"),
        ("comfortable", "cómodo", "ser", 1, "comfortable"),
        ("dangerous", "peligroso", "ser", 1, "dangerous"),
        ("quiet", "tranquilo", "ser", 1, "quiet tame"),
        ("broken", "roto", "estar", 0, "break"),
        ("full", "lleno", "estar", 0, "liquid holds full"),
        ("empty", "vacío", "estar", 0, "liquid holds full"),
        ("open", "abierto", "estar", 0, "open"),
        ("closed", "cerrado", "estar", 0, "open"),
        ("dry", "seco", "estar", 1, "dry plant"),
        ("cold", "frío", "estar", 2, "mass drink cold"),
        ("stained", "manchado", "estar", 0, "clothing stain"),
        ("scratched", "rayado", "estar", 0, "vehicle device & -switch"),
        ("crooked", "torcido", "estar", 0, "crooked"),
        ("covered in dust", "cubierto de polvo", "estar", 0, "attic dust & -clothing"),
        ("painted blue", "pintado de azul", "estar", 0, "paint & -room"),
        ("finished", "terminado", "estar", 0, "finish build & building"),
        ("ready", "listo", "estar", 0, "ready"),
        ("on", "encendido", "estar", 0, "switch"),
        ("off", "apagado", "estar", 0, "switch"),
        ("tied up", "atado", "estar", 0, "tie"),
        ("rusty", "oxidado", "estar", 1, "rust"),
        ("rotten", "podrido", "estar", 0, "fruit"),
        ("ripe", "maduro", "estar", 1, "fruit"),
        ("fresh", "fresco", "estar", 1, "fresh fruit"),
        ("burnt", "quemado", "estar", 0, "bake"),
        ("frozen", "congelado", "estar", 0, "frozen"),
        ("salty", "salado", "estar", 2, "salty"),
        ("raw", "crudo", "estar", 1, "raw"),
        ("bitter", "amargo", "estar", 2, "bitter"),
        ("delicious", "delicioso", "estar", 0, "food mass drink & -raw"),
        ("good", "bueno", "estar", 1, "food mass drink & -raw"),
        ("good", "bueno", "ser", 1, "work"),
        ("tired", "cansado", "estar", 1, "farm pet"),
        ("ill", "enfermo", "estar", 1, "farm pet plant"),
        ("asleep", "dormido", "estar", 0, "animal & -wild"),
        ("dead", "muerto", "estar", 0, "animal plant"),
        ("tame", "manso", "ser", 1, "tame farm"),
        ("fat", "gordo", "estar", 1, "farm pet"),
        ("thin", "flaco", "estar", 1, "farm pet"),
        ("frightened", "asustado", "estar", 1, "animal"),
        ("hungry", "hambriento", "estar", 1, "farm pet wild"),
        ("lost", "perdido", "estar", 0, "pet farm"),
        ("boring", "aburrido", "ser", 1, "work event time & -secret -lie"),
        ("fun", "divertido", "ser", 1, "event fun & -meeting"),
        ("complicated", "complicado", "ser", 2, "complicated"),
        ("simple", "sencillo", "ser", 1, "complicated"),
        ("wonderful", "maravilloso", "ser", 0, "event time work & -secret -lie"),
        ("hot", "caluroso", "ser", 1, "time & -night"),
        ("rainy", "lluvioso", "ser", 1, "time"),
        ("creased", "arrugado", "estar", 1, "crease"),
        ("swollen", "hinchado", "estar", 1, "body"),
        ("flooded", "inundado", "estar", 0, "flood"),
        ("slow", "lento", "ser", 2, "vehicle slow"),
        ("fast", "rápido", "ser", 1, "vehicle fast"),
        ("noisy", "ruidoso", "ser", 2, "noisy"),
        ("practical", "práctico", "ser", 1, "bag tool device"),
        ("warm", "cálido", "ser", 1, "warm"),
        ("made by hand", "hecho a mano", "estar", 0, "handmade clothing"),
        ("free", "gratuito", "ser", 0, "free"),
    )
]


@dataclass(frozen=True)
class AdjectiveFrame:
    """{A}: the adjective with its adverb (very / quite), {adj} without; {cop} the copula in `tense`."""

    en: str
    en_pl: str
    es: str
    tense: str  # pres, past, look (parecer), looked
    register: str = "e"
    estar: bool = False  # only adjectives of state (estar)
    grade: int = 0  # at least this grade
    adverb: bool = False
    subjects: str = ""
    clitic: bool = False  # I found it open: the clitic agrees too


ADJECTIVE_FRAMES = [
    AdjectiveFrame("It is {A}.", "They are {A}.", "{cop} {a}.", "pres", adverb=True),
    AdjectiveFrame("It was {A}.", "They were {A}.", "{cop} {a}.", "past", "eb", adverb=True),
    AdjectiveFrame("It looks {A}.", "They look {A}.", "{cop} {a}.", "look", adverb=True),
    AdjectiveFrame("It looked {A}.", "They looked {A}.", "{cop} {a}.", "looked", adverb=True),
    AdjectiveFrame("It is not {adj}.", "They are not {adj}.", "No {cop} {adj}.", "pres"),
    AdjectiveFrame("Is it {adj}?", "Are they {adj}?", "¿{cop} {adj}?", "pres"),
    AdjectiveFrame("It was still {adj}.", "They were still {adj}.", "Todavía {cop} {adj}.", "past", estar=True),
    AdjectiveFrame("It is so {adj}!", "They are so {adj}!", "¡{cop} tan {adj}!", "pres", grade=1),
    AdjectiveFrame("It is too {adj}.", "They are too {adj}.", "{cop} demasiado {adj}.", "pres", grade=2),
    AdjectiveFrame(
        "{S} said it was {adj}.", "{S} said they were {adj}.", "{S}dijo que {cop} {adj}.", "past", subjects="he she P"
    ),
    AdjectiveFrame("I think it is {adj}.", "I think they are {adj}.", "Creo que {cop} {adj}.", "pres"),
    AdjectiveFrame("I found it {adj}.", "I found them {adj}.", "{cl} encontré {adj}.", "", estar=True, clitic=True),
    AdjectiveFrame("And it was {A}.", "And they were {A}.", "Y {cop} {a}.", "past", "b", adverb=True),
    AdjectiveFrame("And behold, it was {adj}.", "And behold, they were {adj}.", "Y he aquí, {cop} {adj}.", "past", "b"),
]
_COPULA = {
    ("ser", "pres"): ("es", "son"),
    ("ser", "past"): ("era", "eran"),
    ("ser", "pret"): ("fue", "fueron"),
    ("estar", "pres"): ("está", "están"),
    ("estar", "past"): ("estaba", "estaban"),
    ("estar", "pret"): ("estaba", "estaban"),
    ("look", ""): ("parece", "parecen"),
    ("looked", ""): ("parecía", "parecían"),
}
ADVERBS = [("", ""), ("very ", "muy "), ("quite ", "bastante ")]


@dataclass(frozen=True)
class Preposition:
    """An ending with a stressed pronoun after a preposition: {it} it / them, {pr} él ella ellos ellas,
    {S} a subject (Spanish {o} agrees with it), {X} something found."""

    en: str
    es: str
    compat: str
    register: str
    numbers: str = "sp"
    subjects: str = ""


FOUND_INSIDE = [
    ("a coin", "una moneda"),
    ("an old key", "una llave vieja"),
    ("a small ring", "un anillo pequeño"),
    ("a note", "una nota"),
    ("an old photo", "una foto antigua"),
    ("some money", "algo de dinero"),
]
PREPOSITIONS = [
    Preposition(*row)
    for row in (
        ("We sat under {it}.", "Nos sentamos debajo de {pr}.", "shade", "eb"),
        ("He slept under {it}.", "Durmió debajo de {pr}.", "shade", "eb", "s"),
        ("I sat on {it}.", "Me senté en {pr}.", "seat", "e", "s"),
        ("We slept in {it}.", "Dormimos en {pr}.", "sleep", "eb", "s"),
        ("They lived in {it} for many years.", "Vivieron en {pr} durante muchos años.", "dwell", "eb", "s"),
        ("There was nobody inside {it}.", "No había nadie dentro de {pr}.", "enter", "e"),
        ("Inside {it} we found {X}.", "Dentro de {pr} encontramos {X}.", "holds", "e"),
        ("We stood in front of {it}.", "Nos quedamos delante de {pr}.", "big", "e"),
        ("He waited next to {it}.", "Esperó junto a {pr}.", "big", "eb", "s"),
        ("I can't live without {it}.", "No puedo vivir sin {pr}.", "need", "e"),
        ("I went out without {it}.", "Salí sin {pr}.", "carry", "e"),
        ("We came back without {it}.", "Volvimos sin {pr}.", "carry farm", "eb"),
        ("{S} came back with {it}.", "{S}volvió con {pr}.", "portable farm", "eb", "sp", "he she P"),
        ("I paid a lot for {it}.", "Pagué mucho por {pr}.", "buy", "e"),
        ("We talked about {it} for hours.", "Hablamos de {pr} durante horas.", "talk", "e"),
        ("{S} spoke to me about {it}.", "{S}me habló de {pr}.", "talk", "e", "sp", "he she P"),
        ("Nobody knows anything about {it}.", "Nadie sabe nada de {pr}.", "talk & -event -time", "e"),
        ("I often think about {it}.", "Pienso en {pr} a menudo.", "think", "e"),
        ("{S} is very proud of {it}.", "{S}está muy orgullos{o} de {pr}.", "own & -food -mass", "e", "sp", "he she P"),
        ("We were afraid of {it}.", "Teníamos miedo de {pr}.", "dangerous", "eb"),
        ("We drank from {it}.", "Bebimos de {pr}.", "drinkfrom", "eb", "s"),
        ("And there was water in {it}.", "Y había agua en {pr}.", "drinkfrom & b", "b", "s"),
        ("And with {it} he struck the rock.", "Y con {pr} golpeó la roca.", "strike", "b", "s"),
        ("And he slew the lion with {it}.", "Y mató al león con {pr}.", "slaywith", "b", "s"),
        ("And he wrote upon {it}.", "Y escribió en {pr}.", "writeon", "b", "s"),
        ("And they sat down beside {it}.", "Y se sentaron junto a {pr}.", "beside", "b"),
        ("Behind {it} there was a small garden.", "Detrás de {pr} había un jardín pequeño.", "behind", "e", "s"),
        ("I ran after {it}.", "Corrí detrás de {pr}.", "chase", "e", "s"),
        ("I fell off {it}.", "Me caí de {pr}.", "falloff", "e", "s"),
        ("I took a picture of {it}.", "Hice una foto de {pr}.", "photo & -text", "e"),
        ("There was a bird on {it}.", "Había un pájaro encima de {pr}.", "surface", "e", "s"),
        ("We swam in {it}.", "Nadamos en {pr}.", "swim", "e", "s"),
        ("I wrote my name on {it}.", "Escribí mi nombre en {pr}.", "writename", "e", "s"),
        ("I looked under {it}.", "Miré debajo de {pr}.", "lookunder", "e"),
        ("We had lunch near {it}.", "Comimos cerca de {pr}.", "near", "e"),
        ("We sat down next to {it}.", "Nos sentamos junto a {pr}.", "big beside near", "e"),
        ("Without {it} we could not get in.", "Sin {pr} no podíamos entrar.", "entry", "e"),
    )
]


# ---------------------------------------------------------------------------------------------
# Drawing a story
# ---------------------------------------------------------------------------------------------


def compat(spec: str, noun: Noun, register: str = "") -> bool:
    """Whether `noun` fits `spec`: groups joined by `&`, each true when the noun has one of its tags
    (its class, its own tags, its key; `e` / `b`: the story's register, else the noun's) and none of
    its `-tags`."""
    have = noun.tags | {noun.key, *(register or noun.register)}
    for group in spec.split("&"):
        words = group.split()
        wanted = [w for w in words if not w.startswith("-")]
        if wanted and not have.intersection(wanted):
            return False
        if have.intersection(w[1:] for w in words if w.startswith("-")):
            return False
    return True


@dataclass(frozen=True)
class Ending:
    kind: str  # clitic, adjective, pronoun
    item: int  # index into VERBS, ADJECTIVES or PREPOSITIONS
    frame: int  # index into CLITIC_FRAMES or ADJECTIVE_FRAMES (-1 for a preposition)
    subject: str = ""  # I we he she they you P
    person: int = -1  # PEOPLE index of a subject P
    complement: int = -1
    time: int = -1
    adverb: int = 0
    extra: int = -1  # a recipient (PEOPLE) or something found inside (FOUND_INSIDE)


@dataclass(frozen=True)
class Plan:
    """Every choice of one story, before it is written: `write_plan` writes it (and its twin, with
    another thing of the other gender, by `dataclasses.replace`)."""

    register: str  # e (everyday) or b (the Bible's narrative)
    shape: str  # single, plural, pair (the thing named again), compound (named in the last sentence), choice
    nouns: tuple[str, ...]  # in the order the introduction names them
    antecedent: int  # which of them "it" is
    intro: int  # INTRODUCTIONS (MULTI_INTRODUCTIONS with two nouns)
    dets: tuple[str, ...]
    adjectives: tuple[int, ...]  # INTRO_ADJECTIVES index per noun, -1 for none
    ending: Ending
    where: int = -1  # the introduction's place or time
    person: int = -1  # the introduction's {P}
    state: tuple[int, str] | None = None  # (ADJECTIVES index, tense) of "The lamp is broken."
    fillers: tuple[tuple[int, int], ...] = ()  # (FILLERS index, PEOPLE index)

    @property
    def plural(self) -> bool:
        return self.shape == "plural"


@dataclass(frozen=True)
class Drawn:
    """A written story and what it was written from (tests count the verbs, adjectives, nouns)."""

    doc: PronounDocument
    plan: Plan
    verb: str = ""  # the clitic ending's Spanish infinitive
    adjective: str = ""  # the adjective ending's Spanish
    preposition: int = -1


_NAMES = frozenset(w for p in PEOPLE if p.kind == "name" for w in (p.en, p.es))


class _Redraw(Exception):
    """This draw cannot be completed (no piece fits): draw again."""


SHAPES = {"single": 45, "plural": 20, "pair": 15, "compound": 6, "choice": 14}
KINDS = {"clitic": 55, "adjective": 25, "pronoun": 20}
_GENERIC_ENDING_ADJECTIVES = frozenset({"nuevo", "viejo", "pequeño"})


def _ok(register: str, piece_register: str) -> bool:
    return register in piece_register


def _people(register: str, pronouns: bool = True) -> list[int]:
    return [i for i, p in enumerate(PEOPLE) if _ok(register, p.register) and (pronouns or p.kind != "pron")]


def _subjects(spec: str, plural: bool) -> list[str]:
    """A frame's subjects; never "they" in a story about several things (they would be the things)."""
    return [s for s in spec.split() if not (plural and s == "they")]


@cache
def _clitic_frames(v: int, plural: bool, register: str) -> tuple[int, ...]:
    verb = VERBS[v]
    return tuple(
        i
        for i, f in enumerate(CLITIC_FRAMES)
        if f.group in verb.mask and _ok(register, f.register) and (not f.subjects or _subjects(f.subjects, plural))
    )


def _adjective_frames(a: int, noun: Noun, plural: bool, register: str) -> tuple[int, ...]:
    adj = ADJECTIVES[a]
    events = bool(noun.tags & {"event", "time"})
    return tuple(
        i
        for i, f in enumerate(ADJECTIVE_FRAMES)
        if _ok(register, f.register)
        and (not f.estar or adj.copula == "estar")
        and adj.grade >= f.grade
        and (not events or (f.tense == "past" and not f.subjects and not f.estar))
    )


@cache
def _endings(key: str, plural: bool, register: str) -> dict[str, tuple[int, ...]]:
    """The verbs, adjectives and prepositional endings that fit a thing, by kind."""
    noun = NOUNS[key]
    verbs = tuple(
        v
        for v, verb in enumerate(VERBS)
        if _ok(register, verb.register)
        and compat(verb.compat, noun, register)
        and ("2" not in verb.mask or plural)
        and _clitic_frames(v, plural, register)
    )
    adjectives = tuple(
        a
        for a, adj in enumerate(ADJECTIVES)
        if compat(adj.compat, noun, register) and _adjective_frames(a, noun, plural, register)
    )
    preps = tuple(
        p
        for p, prep in enumerate(PREPOSITIONS)
        if _ok(register, prep.register) and compat(prep.compat, noun, register) and ("p" in prep.numbers or not plural)
    )
    return {"clitic": verbs, "adjective": adjectives, "pronoun": preps}


@cache
def _intros(key: str, plural: bool, register: str) -> tuple[int, ...]:
    noun = NOUNS[key]
    number = "m" if noun.mass else "p" if plural else "s"
    return tuple(
        i
        for i, intro in enumerate(INTRODUCTIONS)
        if _ok(register, intro.register)
        and number in intro.numbers
        and not (plural and re.search(r"\b[Tt]hey\b", intro.en))  # "they" would be the things too
        and compat(intro.compat, noun, register)
        and _det_names(intro.dets, noun, plural)
    )


_NUMBERED = frozenset({"a", "this", "that", "that-past", "two", "three", "several", "a few", "some"})


def _det_names(groups: str, noun: Noun, plural: bool) -> list[str]:
    """The determiners of an introduction's groups; of "sheep" or "series" only those that say the number."""
    column = 2 if noun.mass else 1 if plural else 0
    names = [d for g in groups.split() for d in DETERMINER_GROUPS[g][column]]
    return [d for d in names if d in _NUMBERED] if noun.en_pl == noun.en else names


@cache
def _pool(register: str, feminine: bool, plural: bool) -> tuple[str, ...]:
    """The things a story of this register and number can be about: an introduction and an ending fit."""
    return tuple(
        key
        for key, noun in NOUNS.items()
        if _ok(register, noun.register)
        and noun.feminine == feminine
        and not (plural and noun.mass)
        and _intros(key, plural, register)
        and any(_endings(key, plural, register).values())
    )


def _pick_ending(
    rng: random.Random,
    noun: Noun,
    plural: bool,
    register: str,
    *,
    not_of: Noun | None = None,
    kinds: tuple[str, ...] = tuple(KINDS),
) -> Ending:
    """An ending about `noun` (none that could be about `not_of`: English then says which thing it is)."""
    found = {kind: items for kind, items in _endings(noun.key, plural, register).items() if kind in kinds}
    if not_of is not None:
        other = _endings(not_of.key, plural, register)
        found = {kind: tuple(i for i in items if i not in other[kind]) for kind, items in found.items()}
    open_kinds = [k for k in KINDS if found.get(k)]
    if not open_kinds:
        raise _Redraw
    kind = rng.choices(open_kinds, [KINDS[k] for k in open_kinds])[0]
    item = rng.choice(found[kind])
    if kind == "pronoun":
        prep = PREPOSITIONS[item]
        subject, person = _pick_subject(rng, prep.subjects, plural, register)
        extra = rng.randrange(len(FOUND_INSIDE)) if "{X}" in prep.en else -1
        return Ending(kind, item, -1, subject, person, extra=extra)
    if kind == "adjective":
        frames = _adjective_frames(item, noun, plural, register)
        frame = rng.choice(frames)
        f = ADJECTIVE_FRAMES[frame]
        subject, person = _pick_subject(rng, f.subjects, plural, register)
        adverb = rng.randrange(len(ADVERBS)) if f.adverb and ADJECTIVES[item].grade >= 1 else 0
        return Ending(kind, item, frame, subject, person, adverb=adverb)
    frames = _clitic_frames(item, plural, register)
    return _verb_ending(rng, noun, plural, register, item, rng.choice(frames))


def _verb_ending(rng: random.Random, noun: Noun, plural: bool, register: str, item: int, frame: int) -> Ending:
    verb, f = VERBS[item], CLITIC_FRAMES[frame]
    subject, person = _pick_subject(rng, f.subjects, plural, register)
    negative = "n't" in f.en or " not " in f.en  # "I didn't find it at last": no complement
    complements = [
        i
        for i, (en, _, spec) in enumerate(verb.complements)
        if "{c}" in f.en and (not spec or compat(spec, noun, register)) and not (negative and en)
    ]
    complement = rng.choice(complements) if complements else -1
    if "{c}" in f.en and complement < 0 and all(en for en, _, _ in verb.complements) and not negative:
        raise _Redraw  # a complement is needed and none fits
    time = -1
    has_complement = complement >= 0 and verb.complements[complement][0]
    if f.time == "h" or (f.time and not has_complement and rng.random() < 0.4):
        time = rng.randrange(len(TIMES[f.time]))
    elif f.time == "p" and verb.en.ambiguous_past and subject not in ("he", "she", "P"):
        time = rng.randrange(len(TIMES["p"]))  # "I cut it" could be now: "I cut it yesterday" cannot
    extra = rng.choice(_people(register, pronouns=False)) if "{R}" in f.en else -1
    return Ending("clitic", item, frame, subject, person, complement, time, extra=extra)


def _pick_subject(rng: random.Random, subjects: str, plural: bool, register: str) -> tuple[str, int]:
    subject = rng.choice(_subjects(subjects, plural) or [""])
    person = rng.choice(_people(register, pronouns=False)) if subject == "P" else -1
    return subject, person


def _pick_adjective(rng: random.Random, noun: Noun, register: str, allowed: bool, chance: float = 0.35) -> int:
    if not allowed or rng.random() >= chance:
        return -1
    fits = [i for i, a in enumerate(INTRO_ADJECTIVES) if compat(a.compat, noun, register)]
    return rng.choice(fits) if fits else -1


def _pick_fillers(rng: random.Random, n: int, register: str, plural: bool) -> tuple[tuple[int, int], ...]:
    choices = [i for i, f in enumerate(FILLERS) if _ok(register, f.register) and not (plural and f.plural)]
    picked = rng.sample(choices, n)
    people = _people(register)
    named = _people(register, pronouns=False)
    return tuple((i, rng.choice(named if "{O}" in FILLERS[i].en else people)) for i in picked)


def draw_plan(rng: random.Random, between: int) -> Plan:
    """One story's choices, with `between` sentences (0 to 3) between the thing and the pronoun."""
    for _ in range(1000):
        register = "b" if rng.random() < 0.3 else "e"
        shape = rng.choices(list(SHAPES), list(SHAPES.values()))[0]
        try:
            if shape in ("single", "plural"):
                return _single(rng, register, shape, between)
            if register == "e" or shape != "compound":
                return _multi(rng, register, shape, between)
        except _Redraw:
            continue
    raise RuntimeError("no story could be drawn")


def _single(rng: random.Random, register: str, shape: str, between: int) -> Plan:
    plural = shape == "plural"
    key = rng.choice(_pool(register, rng.random() < 0.5, plural))
    noun = NOUNS[key]
    intro_i = rng.choice(_intros(key, plural, register))
    intro = INTRODUCTIONS[intro_i]
    det = rng.choice(_det_names(intro.dets, noun, plural))
    adjective = _pick_adjective(rng, noun, register, intro.adj and not det.startswith("body"))
    where = rng.randrange(len(intro.where)) if intro.where else -1
    person = rng.choice(_people(register, pronouns=False)) if "{P}" in intro.en else -1
    ending = _pick_ending(rng, noun, plural, register)
    fillers = _pick_fillers(rng, between, register, plural)
    return Plan(register, shape, (key,), 0, intro_i, (det,), (adjective,), ending, where, person, None, fillers)


@cache
def _multi_pool(intro: int, register: str) -> tuple[str, ...]:
    spec = MULTI_INTRODUCTIONS[intro].compat
    return tuple(
        k
        for k, n in NOUNS.items()
        if _ok(register, n.register) and not n.mass and compat(spec, n, register) and "body" not in n.tags
    )


def _multi(rng: random.Random, register: str, shape: str, between: int) -> Plan:
    """Two things in the introduction; the story says which one "it" is."""
    intros = [i for i, intro in enumerate(MULTI_INTRODUCTIONS) if _ok(register, intro.register)]
    intro_i = rng.choice(intros)
    intro = MULTI_INTRODUCTIONS[intro_i]
    pool = _multi_pool(intro_i, register)
    first = NOUNS[rng.choice(pool)]
    other_gender = rng.random() < 0.75
    second_pool = [
        k
        for k in pool
        if k != first.key
        and (NOUNS[k].feminine != first.feminine) == other_gender
        and ("portable" in NOUNS[k].tags) == ("portable" in first.tags)
        and NOUNS[k].en not in first.en.split()
        and first.en not in NOUNS[k].en.split()
        and (shape != "choice" or _class(NOUNS[k]) != _class(first))
    ]
    if not second_pool:
        raise _Redraw
    second = NOUNS[rng.choice(second_pool)]
    antecedent = rng.randrange(2)
    noun, other = (first, second) if antecedent == 0 else (second, first)
    state = None
    if shape == "pair":
        fits = [
            a
            for a, adj in enumerate(ADJECTIVES)
            if compat(adj.compat, noun, register) and adj.es not in _GENERIC_ENDING_ADJECTIVES
        ]
        if not fits:
            raise _Redraw
        tense = "past" if register == "b" else rng.choice(["pres", "past"])
        state = (rng.choice(fits), tense)
        ending = _pick_ending(rng, noun, False, register, kinds=("clitic", "pronoun"))  # no "It is ugly" after it
    elif shape == "compound":
        state, ending = _cause(rng, noun, register)
    else:
        ending = _pick_ending(rng, noun, False, register, not_of=other)
    fillers = _pick_fillers(rng, 0 if shape == "compound" else between, register, False)
    where = rng.randrange(len(intro.where)) if intro.where else -1
    person = rng.choice(_people(register, pronouns=False)) if "{P}" in intro.en else -1
    return Plan(
        register,
        shape,
        (first.key, second.key),
        antecedent,
        intro_i,
        ("a", "a"),
        (-1, -1),
        ending,
        where,
        person,
        state,
        fillers,
    )


# "The lamp is broken, so I will repair it.": a state, and what it leads one to do (English verb bases).
CAUSES = {
    "roto": ("repair", "replace"),
    "viejo": ("replace", "sell"),
    "caro": ("sell",),
    "vacío": ("fill",),
    "lleno": ("empty",),
    "frío": ("heat * up",),
    "congelado": ("heat * up",),
    "apagado": ("turn * on",),
    "encendido": ("turn * off",),
    "arrugado": ("iron",),
    "abierto": ("close", "lock"),
    "cerrado": ("open",),
    "maduro": ("eat",),
    "manchado": ("wash",),
    "cubierto de polvo": ("wash",),
    "oxidado": ("polish", "replace"),
    "precioso": ("photograph", "draw"),
    "bonito": ("draw", "photograph"),
    "hermoso": ("photograph", "draw"),
    "hambriento": ("feed",),
    "seco": ("water",),
    "listo": ("serve", "eat"),
    "crudo": ("cook",),
    "perdido": ("look for",),
    "complicado": ("explain", "study"),
    "nuevo": ("wear", "use"),
    "práctico": ("use",),
}
_CLAUSE_GROUPS = {"pres": "FGMI", "past": "P"}


def _cause(rng: random.Random, noun: Noun, register: str) -> tuple[tuple[int, str], Ending]:
    """A state of `noun` and an ending that follows from it ("..., so I will repair it")."""
    options = []
    for a, adj in enumerate(ADJECTIVES):
        if adj.es in CAUSES and compat(adj.compat, noun, register):
            for v in _endings(noun.key, False, register)["clitic"]:
                if VERBS[v].en.base.removesuffix(" *") in CAUSES[adj.es]:
                    options.append((a, v))
    if not options:
        raise _Redraw
    a, v = rng.choice(options)
    tense = rng.choice(["pres", "past"])
    frames = [
        i
        for i in _clitic_frames(v, False, register)
        if CLITIC_FRAMES[i].clause and CLITIC_FRAMES[i].group in _CLAUSE_GROUPS[tense]
    ]
    if not frames:
        raise _Redraw
    ending = _verb_ending(rng, noun, False, register, v, rng.choice(frames))
    return (a, tense), ending


def _class(noun: Noun) -> str:
    return next(c for c in CLASS_TAGS if c in noun.tags)


# ---------------------------------------------------------------------------------------------
# Writing a story
# ---------------------------------------------------------------------------------------------

_CLITICS = {(False, False): "lo", (True, False): "la", (False, True): "los", (True, True): "las"}
_STRESSED = {(False, False): "él", (True, False): "ella", (False, True): "ellos", (True, True): "ellas"}
_ALTERNATIVE = re.compile(r"\{([^{}|]*)\|([^{}|]*)\}")


def _number(template: str, plural: bool) -> str:
    return _ALTERNATIVE.sub(lambda m: m.group(2 if plural else 1), template)


def noun_phrase(noun: Noun, det: str, adjective: int, plural: bool, owner: Person | None = None) -> tuple[str, str]:
    """(English, Spanish) of a determiner, maybe an adjective, and a noun: "a cheap lamp", "una lámpara barata"."""
    plural = plural and not noun.mass
    if owner is not None and det == "his" and owner.feminine:
        det = "her"
    en_det, en_det_pl, es_dets = DETERMINERS[det]
    index = (2 if plural else 0) + noun.feminine
    en_adj = INTRO_ADJECTIVES[adjective].en if adjective >= 0 else ""
    en_noun = noun.english(plural)
    first = en_adj or en_noun
    en_article = article(first) if det == "a" else (en_det_pl if plural else en_det) or ""
    es_adj = INTRO_ADJECTIVES[adjective].es[index] if adjective >= 0 else ""
    en = " ".join(w for w in (en_article, en_adj, en_noun) if w)
    es = " ".join(w for w in (es_dets[index], noun.spanish(plural), es_adj) if w)
    return en, es


def _intro_sentence(plan: Plan) -> tuple[str, str]:
    multi = len(plan.nouns) == 2
    intro = (MULTI_INTRODUCTIONS if multi else INTRODUCTIONS)[plan.intro]
    owner = PEOPLE[plan.person] if plan.person >= 0 else PEOPLE[0]
    phrases = [
        noun_phrase(NOUNS[k], d, a, plan.plural, owner)
        for k, d, a in zip(plan.nouns, plan.dets, plan.adjectives, strict=True)
    ]
    plural = plan.plural and not NOUNS[plan.nouns[0]].mass
    w_en, w_es = intro.where[plan.where] if plan.where >= 0 else ("", "")
    fields_en = {
        "np": phrases[0][0],
        "np1": phrases[0][0],
        "np2": phrases[-1][0],
        "P": owner.en,
        "w": w_en,
        "his": "her" if owner.feminine else "his",
    }
    fields_es = {"np": phrases[0][1], "np1": phrases[0][1], "np2": phrases[-1][1], "P": owner.es, "w": w_es}
    en = _number(intro.en, plural).format(**fields_en)
    es = _number(intro.es, plural).format(**fields_es)
    return polish_english(en), polish_spanish(es)


def _filler_sentence(filler: int, person: int) -> tuple[str, str]:
    f, p = FILLERS[filler], PEOPLE[person]
    en = f.en.format(P=p.en, O=p.en, his="her" if p.feminine else "his")
    es = f.es.format(P=p.es, o="a" if p.feminine else "o")
    return polish_english(en), polish_spanish(es)


def _state_sentence(plan: Plan) -> tuple[str, str]:
    noun = NOUNS[plan.nouns[plan.antecedent]]
    assert plan.state is not None
    a, tense = plan.state
    adj = ADJECTIVES[a]
    cop_en = "is" if tense == "pres" else "was"
    cop_es = _COPULA[(adj.copula, tense)][0]
    es_adj = _forms(adj.es)[noun.feminine]
    the = "la" if noun.feminine else "el"
    if plan.register == "b":
        return f"And the {noun.en} was {adj.en}.", polish_spanish(f"Y {the} {noun.es} {cop_es} {es_adj}.")
    return f"The {noun.en} {cop_en} {adj.en}.", polish_spanish(f"{the} {noun.es} {cop_es} {es_adj}.")


def _ending_sentence(plan: Plan) -> tuple[str, str, str, str]:
    """(English, Spanish with the thing's gender, Spanish with the other, kind)."""
    e = plan.ending
    noun = NOUNS[plan.nouns[plan.antecedent]]
    plural = plan.plural
    obj = "them" if plural else "it"
    subject = PEOPLE[e.person] if e.person >= 0 else None
    s_en = subject.en if subject else e.subject
    s_es = f"{subject.es} " if subject else ""

    def spanish(feminine: bool) -> str:
        key = (feminine, plural)
        if e.kind == "pronoun":
            prep = PREPOSITIONS[e.item]
            x = FOUND_INSIDE[e.extra][1] if e.extra >= 0 else ""
            o = "a" if (subject.feminine if subject else e.subject == "she") else "o"
            return prep.es.format(pr=_STRESSED[key], S=s_es, X=x, o=o)
        if e.kind == "adjective":
            adj, af = ADJECTIVES[e.item], ADJECTIVE_FRAMES[e.frame]
            forms = _forms(adj.es)
            index = (2 if plural else 0) + feminine
            if af.tense in ("look", "looked"):
                cop = _COPULA[(af.tense, "")][plural]
            else:
                tense = "pret" if af.tense == "past" and noun.tags & {"event", "time"} else af.tense
                cop = _COPULA[(adj.copula, tense)][plural] if tense else ""
            adverb = ADVERBS[e.adverb][1]
            return af.es.format(cop=cop, a=adverb + forms[index], adj=forms[index], S=s_es, cl=_CLITICS[key])
        verb, f = VERBS[e.item], CLITIC_FRAMES[e.frame]
        cl = _CLITICS[key]
        person = _SUBJECT[e.subject][1] if e.subject else "2s"
        comp = verb.complements[e.complement][1] if e.complement >= 0 else ""
        time = f" {TIMES[f.time][e.time][1]}" if e.time >= 0 else ""
        recipient = PEOPLE[e.extra].es if e.extra >= 0 else ""
        return f.es.format(
            S=s_es,
            cl=cl,
            f=verb.es.form(f.tense, person) if f.tense else "",
            inf=attach(verb.es.inf, cl),
            infme=attach(verb.es.inf, "me" + cl),
            imp=attach(verb.es.imp, cl),
            impme=attach(verb.es.imp, "me" + cl),
            subj=verb.es.subj,
            pp=verb.es.pp,
            ger=verb.es.ger,
            c=verb.suffix + comp,
            t=time,
            R=recipient,
        )

    if e.kind == "pronoun":
        prep = PREPOSITIONS[e.item]
        x = FOUND_INSIDE[e.extra][0] if e.extra >= 0 else ""
        en = prep.en.format(it=obj, S=s_en, X=x)
        kind = "pronoun"
    elif e.kind == "adjective":
        adj, af = ADJECTIVES[e.item], ADJECTIVE_FRAMES[e.frame]
        template = af.en_pl if plural else af.en
        en = template.format(A=ADVERBS[e.adverb][0] + adj.en, adj=adj.en, S=s_en)
        kind = "clitic" if af.clitic else "adjective"
    else:
        verb, f = VERBS[e.item], CLITIC_FRAMES[e.frame]
        comp = verb.complements[e.complement][0] if e.complement >= 0 else ""
        time = f" {TIMES[f.time][e.time][0]}" if e.time >= 0 else ""
        recipient = PEOPLE[e.extra].en if e.extra >= 0 else ""
        en = f.en.format(
            S=s_en,
            base=verb.en.form("base", obj),
            past=verb.en.form("past", obj),
            pp=verb.en.form("pp", obj),
            ing=verb.en.form("ing", obj),
            s3=verb.en.form("s3", obj),
            c=comp,
            t=time,
            R=recipient,
        )
        kind = "clitic"
    feminine = noun.feminine
    return polish_english(en), polish_spanish(spanish(feminine)), polish_spanish(spanish(not feminine)), kind


def write_plan(plan: Plan, doc_id: str) -> Drawn:
    """The story of `plan`: its document, and its last sentence with the other gender (the contrastive one)."""
    sentences = [_intro_sentence(plan)]
    mention = 0  # the sentence that last names the antecedent
    if plan.shape == "pair":
        sentences.append(_state_sentence(plan))
        mention = 1
    sentences += [_filler_sentence(f, p) for f, p in plan.fillers]
    en, es, contrastive, kind = _ending_sentence(plan)
    if plan.shape == "compound":
        state_en, state_es = _state_sentence(plan)
        en = f"{state_en[:-1]}, so {_lower_first(en)}"
        es, contrastive = (f"{state_es[:-1]}, así que {_lower_first(s)}" for s in (es, contrastive))
        mention = len(sentences)
    sentences.append((en, es))
    doc = Document(doc_id, tuple(s[0] for s in sentences), tuple(s[1] for s in sentences))
    kind = f"{kind}-pl" if plan.plural else kind
    e = plan.ending
    return Drawn(
        PronounDocument(doc, contrastive, len(sentences) - 1 - mention, kind),
        plan,
        verb=VERBS[e.item].es.inf if e.kind == "clitic" else "",
        adjective=ADJECTIVES[e.item].es if e.kind == "adjective" else "",
        preposition=e.item if e.kind == "pronoun" else -1,
    )


def _lower_first(text: str) -> str:
    if text.startswith(("I ", "I'")) or text.split(" ")[0] in _NAMES:
        return text
    return text[:1].lower() + text[1:]


# ---------------------------------------------------------------------------------------------
# What no story may say, the corpus
# ---------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


@cache
def reserved_words() -> frozenset[str]:
    """The held-out shape's words (`corpora.stories`: its nouns, in English and Spanish, and `RESERVED`)."""
    from corpora.stories import RESERVED, RESERVED_NOUNS

    nouns = {w for en, (es, _) in RESERVED_NOUNS.items() for w in (en, es)}
    return frozenset(nouns | RESERVED)


@cache
def forbidden_sentences() -> frozenset[str]:
    """English sentences no story may contain: every one of the natural twins and of the held-out shape."""
    from corpora.natural import load_twins
    from corpora.stories import RESERVED_ENDINGS, RESERVED_FILLERS, RESERVED_INTRODUCTIONS, RESERVED_NOUNS

    sentences = {s for pair in load_twins() for twin in (0, 1) for s in pair.document(twin).sources}
    sentences |= {intro[0].format(n=n) for intro in RESERVED_INTRODUCTIONS for n in RESERVED_NOUNS}
    sentences |= {f[0] for f in RESERVED_FILLERS} | {e[1] for e in RESERVED_ENDINGS}
    return frozenset(sentences)


def _english_mentions(noun: Noun, text: str) -> int:
    forms = {noun.en, noun.en_pl or noun.en}
    return sum(len(re.findall(rf"\b{re.escape(f)}\b", text, flags=re.IGNORECASE)) for f in forms)


def acceptable(drawn: Drawn) -> bool:
    """Whether a story may be used: each thing named as often as its shape names it (no place or
    complement names it again), no held-out word or sentence, no adjective said twice."""
    doc, plan = drawn.doc.document, drawn.plan
    english = " ".join(doc.sources)
    for i, key in enumerate(plan.nouns):
        again = plan.shape in ("pair", "compound") and i == plan.antecedent
        if _english_mentions(NOUNS[key], english) != 1 + again:
            return False
    if set(doc.sources) & forbidden_sentences():
        return False
    words = {w.lower() for text in doc.sources + doc.targets for w in _WORD.findall(text)}
    if words & reserved_words():
        return False
    intro_adjective = plan.adjectives[plan.antecedent]
    if intro_adjective >= 0 and drawn.adjective:
        said = INTRO_ADJECTIVES[intro_adjective].es[0].split()[0]
        if said == drawn.adjective.split()[0]:
            return False
    return True


def draw_story(rng: random.Random, i: int, doc_id: str) -> Drawn:
    """The `i`-th story: zero to three sentences between the thing and the pronoun, in turn."""
    for _ in range(1000):
        drawn = write_plan(draw_plan(rng, i % 4), doc_id)
        if acceptable(drawn):
            return drawn
    raise RuntimeError(f"{doc_id}: no acceptable story")


def draw_stories(
    n: int, seed: int = 0, prefix: str = "rich", *, exclude: Collection[Sources] = frozenset()
) -> list[Drawn]:
    """`n` stories; one whose English is in `exclude` (a held-out document) is drawn again."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        last: list[Drawn] = []

        def draw(r: random.Random, i: int = i, last: list[Drawn] = last) -> PronounDocument:
            last[:] = [draw_story(r, i, f"{prefix}{i}")]
            return last[0].doc

        draw_unseen(draw, rng, f"rich/{seed}/{i}", exclude)
        out.append(last[0])
    return out


def make_rich_stories(
    n: int, seed: int = 0, prefix: str = "rich", *, exclude: Collection[Sources] = frozenset()
) -> list[PronounDocument]:
    """The stories as `corpora.synthetic.build_synthetic_corpus` takes them (`Generator`)."""
    return [d.doc for d in draw_stories(n, seed, prefix, exclude=exclude)]


def natural_overlap() -> tuple[int, int]:
    """(How many of the natural twins' antecedent nouns are nouns here, how many there are)."""
    from corpora.natural import load_twins

    theirs = {noun for pair in load_twins() for noun in pair.nouns}
    ours = {form for n in NOUNS.values() for form in (n.es, n.es_pl) if form}
    return len(theirs & ours), len(theirs)


def vocabulary() -> dict[str, int]:
    """How much the generator varies: things, verbs, adjectives, sentence patterns."""
    patterns = (
        len(INTRODUCTIONS)
        + len(MULTI_INTRODUCTIONS)
        + len(FILLERS)
        + len(CLITIC_FRAMES)
        + len(ADJECTIVE_FRAMES)
        + len(PREPOSITIONS)
        + len(SHAPES)
    )
    return {
        "nouns": len(NOUNS),
        "verbs": len({v.es.inf + v.suffix for v in VERBS}),
        "adjectives": len({a.es for a in ADJECTIVES}),
        "patterns": patterns,
    }


def build_rich_corpus(out: str | Path, train_docs: int = 20_000, seed: int = 1) -> dict[str, object]:
    """Write the stories as `nmt prepare synthetic-stories` writes its own, and `dev.contrastive.jsonl`."""
    out = Path(out)
    counts = build_synthetic_corpus(out, train_docs, seed, make=make_rich_stories)
    dev = make_rich_stories(500, seed * 1000 + 1, "dev-")  # the dev split build_synthetic_corpus wrote
    write_contrastive(out / "dev.contrastive.jsonl", [contrastive_item(d) for d in dev])
    shared, theirs = natural_overlap()
    return {
        **counts,
        "dev_contrastive_items": len(dev),
        **vocabulary(),
        "natural_twins_nouns_shared": f"{shared}/{theirs}",
    }
