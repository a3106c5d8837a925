"""The fixed tables behind core/synth.py: product catalogue, name pools, countries with real
cities and postcode ranges, VAT rates, the hour-of-day profile. Data only, no I/O."""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def synth_id(*parts: object) -> str:
    """A deterministic 32-char lowercase hex id (the shape of a Shopware uuid) from parts."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    sku: str
    name: str
    price: float  # gross, EUR
    reduced_vat: bool = False  # food and books: the reduced rate


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(","))


_CATEGORIES = (  # noun, price range EUR, reduced VAT
    ("Kaffee", 6, 28, True), ("Espressobohnen", 9, 32, True), ("Tee", 4, 16, True),
    ("Schokolade", 3, 12, True), ("Kochbuch", 14, 45, True), ("Tasse", 8, 24, False),
    ("Becher", 10, 26, False), ("Kaffeemühle", 35, 189, False), ("Teekanne", 24, 89, False),
    ("Siebträger", 249, 899, False), ("Milchkännchen", 12, 35, False),
    ("Filterpapier", 3, 9, False), ("Geschenkset", 29, 119, False),
    ("Thermoskanne", 19, 59, False), ("Entkalker", 7, 19, False), ("Wasserfilter", 9, 29, False),
)  # fmt: skip
_VARIANTS = _words(
    "Classic,Bio,Premium,Crema,Nordic,Vintage,Mini,XL,Hausmarke,Barista,Fairtrade,Gold,Alpin,"
    "Limited,Édition,Rustico,Urban,Duo,Natur,Royal"
)


def _catalogue(size: int = 200) -> tuple[Product, ...]:
    rng = np.random.default_rng(20261101)  # fixed: the catalogue is the same for every seed
    combos = [(c, v) for c in range(len(_CATEGORIES)) for v in range(len(_VARIANTS))]
    products = []
    for i, k in enumerate(rng.permutation(len(combos))[:size]):
        cat, var = combos[k]
        noun, low, high, reduced = _CATEGORIES[cat]
        euros = math.floor(math.exp(rng.uniform(math.log(low), math.log(high))))
        price = euros + float(rng.choice([0.5, 0.9, 0.95, 0.99]))
        name = f"{noun} {_VARIANTS[var]}"
        products.append(Product(synth_id("product", i), f"SW{10001 + i}", name, price, reduced))
    return tuple(products)


PRODUCTS = _catalogue()
_PRICE_CENTS = np.array([round(p.price * 100) for p in PRODUCTS], dtype=np.int64)
_REDUCED = np.array([p.reduced_vat for p in PRODUCTS])
_POPULARITY = 1.0 / (1.0 + np.arange(len(PRODUCTS))) ** 1.1  # Zipf: product i has rank i
_POPULARITY /= _POPULARITY.sum()


# ---------------------------------------------------------------------------------------------
# People: name pools, countries, cities with real postcode ranges


_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # first names, last names
    "de": (
        _words("Anna,Maria,Lena,Laura,Julia,Sarah,Lisa,Katharina,Sophie,Hannah,Leonie,Lea,Emma,"
               "Mia,Johanna,Sabine,Petra,Claudia,Andrea,Monika,Ursula,Birgit,Susanne,Stefanie,"
               "Nicole,Jana,Franziska,Heike,Karin,Thomas,Michael,Andreas,Stefan,Christian,Markus,"
               "Alexander,Daniel,Tobias,Jan,Lukas,Felix,Maximilian,Jonas,Paul,Leon,Florian,"
               "Sebastian,Matthias,Frank,Jürgen,Uwe,Wolfgang,Klaus,Peter,Jörg,Dieter,Björn"),
        _words("Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,"
               "Schäfer,Koch,Bauer,Richter,Klein,Wolf,Schröder,Neumann,Schwarz,Zimmermann,Braun,"
               "Krüger,Hofmann,Hartmann,Lange,Schmitt,Werner,Schmitz,Krause,Meier,Lehmann,"
               "Schulze,Maier,Köhler,Herrmann,König,Walter,Huber,Kaiser,Fuchs,Peters,Lang,"
               "Scholz,Möller,Weiß,Jung,Hahn,Vogel,Friedrich,Keller,Günther,Berger,Roth,Beck,"
               "Lorenz,Baumann,Franke,Albrecht,Ludwig,Böhm,Winter,Kraus,Vogt,Jäger,Groß,Brandt"),
    ),
    "at": (
        _words("Anna,Lena,Sophie,Marie,Katharina,Johanna,Valentina,Theresa,Magdalena,Elisabeth,"
               "Barbara,Lukas,Tobias,Florian,David,Jakob,Elias,Simon,Christoph,Josef,Franz,"
               "Georg,Martin,Andreas,Wolfgang"),
        _words("Gruber,Huber,Bauer,Wagner,Pichler,Steiner,Moser,Mayer,Hofer,Leitner,Berger,Eder,"
               "Schmid,Winkler,Reiter,Mayr,Wimmer,Egger,Brunner,Baumgartner,Auer,Binder,Lechner,"
               "Wallner,Aigner,Ebner,Koller,Lehner,Haas,Fuchs"),
    ),
    "ch": (
        _words("Anna,Laura,Lara,Nina,Elena,Chiara,Sandra,Ruth,Verena,Beat,Urs,Reto,Marco,Luca,"
               "Noah,Jonas,Daniel,Martin,Christoph,Lukas,Roger,Simon"),
        _words("Müller,Meier,Schmid,Keller,Weber,Huber,Steiner,Gerber,Brunner,Baumann,Frei,"
               "Moser,Widmer,Wyss,Graf,Roth,Suter,Bachmann,Studer,Kälin,Bühler,Lüthi,Hess,Marti"),
    ),
    "fr": (
        _words("Marie,Camille,Léa,Manon,Chloé,Emma,Inès,Julie,Louise,Claire,Nathalie,Isabelle,"
               "Céline,Aurélie,Élodie,Jean,Pierre,Nicolas,Julien,Antoine,Lucas,Hugo,Louis,"
               "Mathieu,Olivier,François,Philippe,Laurent,Éric,Sébastien,Théo,Guillaume,Benoît"),
        _words("Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Simon,"
               "Laurent,Lefèbvre,Michel,Garcia,David,Bertrand,Roux,Vincent,Fournier,Morel,"
               "Girard,André,Mercier,Dupont,Lambert,Bonnet,Legrand,Garnier,Faure,Rousseau,Blanc,"
               "Perrin,Morin,Clément,Gauthier,Dumont,Fontaine,Chevalier"),
    ),
    "nl": (
        _words("Emma,Julia,Sophie,Lotte,Sanne,Anouk,Fleur,Eva,Femke,Iris,Noor,Maartje,Daan,Sem,"
               "Levi,Finn,Thijs,Jesse,Bram,Ruben,Lars,Sander,Jeroen,Bas,Pieter,Koen,Wouter,Joost"),
        _words("de Jong,Jansen,de Vries,van den Berg,van Dijk,Bakker,Janssen,Visser,Smit,Meijer,"
               "de Boer,Mulder,de Groot,Bos,Vos,Hendriks,van Leeuwen,Dekker,Brouwer,de Wit,"
               "Dijkstra,de Graaf,van der Meer,Kok,de Haan,Vermeulen,van den Heuvel,Peeters,"
               "Maes,Claes,Goossens,Wouters,Mertens,Willems,De Smet"),
    ),
    "intl": (
        _words("Mehmet,Ayşe,Fatma,Emre,Elif,Zeynep,Piotr,Katarzyna,Tomasz,Agnieszka,Marco,Giulia,"
               "Alessandro,Francesca,Ivan,Elena,Dimitrios,Ana,João,Lucía,Javier,Yasmin,Ali,"
               "Leyla,Nikola,Jelena"),
        _words("Yılmaz,Kaya,Demir,Şahin,Çelik,Öztürk,Kowalski,Nowak,Wiśniewski,Wójcik,Rossi,"
               "Russo,Ferrari,Esposito,Popović,Jovanović,Papadopoulos,Ivanova,García,Fernández,"
               "Silva,Santos,Haddad,Khan,Nguyen"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class _Country:
    code: str
    weight: float  # share among customers paying in EUR
    vat: tuple[float, float]  # standard, reduced
    pools: dict[str, float]
    domains: tuple[str, ...]  # repeated entries weigh more
    legal: tuple[str, ...]
    postcode: str  # format for the number n (and letters a, b for NL)
    cities: tuple[tuple[str, int, int, int, float], ...]  # name, low, high, step, weight


_COUNTRIES = (
    _Country("DE", 0.70, (0.19, 0.07), {"de": 0.82, "intl": 0.18},
             _words("gmx.de,gmx.de,web.de,web.de,gmail.com,gmail.com,t-online.de,outlook.de,"
                    "yahoo.de,freenet.de,posteo.de,icloud.com,mail.de"),
             ("GmbH", "GmbH & Co. KG", "e.K.", "OHG", "AG"), "{n:05d}",
             (("Berlin", 10115, 14199, 1, 37), ("Hamburg", 20095, 22769, 1, 18),
              ("München", 80331, 81929, 1, 15), ("Köln", 50667, 51149, 1, 11),
              ("Frankfurt am Main", 60306, 60599, 1, 7.5), ("Stuttgart", 70173, 70619, 1, 6.3),
              ("Düsseldorf", 40210, 40629, 1, 6.2), ("Leipzig", 4103, 4357, 1, 6),
              ("Dortmund", 44135, 44388, 1, 5.9), ("Bremen", 28195, 28779, 1, 5.6),
              ("Dresden", 1067, 1328, 1, 5.6), ("Hannover", 30159, 30659, 1, 5.4),
              ("Nürnberg", 90402, 90491, 1, 5.2), ("Münster", 48143, 48167, 1, 3.2),
              ("Freiburg im Breisgau", 79098, 79117, 1, 2.3), ("Kiel", 24103, 24159, 1, 2.5),
              ("Regensburg", 93047, 93059, 1, 1.5), ("Bad Tölz", 83646, 83646, 1, 0.2))),
    _Country("AT", 0.12, (0.20, 0.10), {"at": 0.7, "de": 0.2, "intl": 0.1},
             _words("gmx.at,aon.at,a1.net,chello.at,gmail.com,gmail.com,outlook.com,icloud.com"),
             ("GmbH", "KG", "e.U."), "{n:04d}",
             (("Wien", 1010, 1230, 10, 19), ("Graz", 8010, 8063, 1, 2.9),
              ("Linz", 4020, 4040, 1, 2), ("Salzburg", 5020, 5026, 1, 1.5),
              ("Innsbruck", 6020, 6080, 1, 1.3), ("Klagenfurt", 9020, 9073, 1, 1),
              ("Dornbirn", 6850, 6850, 1, 0.5))),
    _Country("CH", 0.02, (0.081, 0.026), {"ch": 0.65, "fr": 0.2, "de": 0.15},
             _words("bluewin.ch,bluewin.ch,gmx.ch,hispeed.ch,sunrise.ch,gmail.com,gmail.com"),
             ("AG", "GmbH", "Sàrl"), "{n:04d}",
             (("Zürich", 8001, 8099, 1, 4.2), ("Genève", 1201, 1299, 1, 2),
              ("Basel", 4001, 4059, 1, 1.7), ("Bern", 3001, 3030, 1, 1.4),
              ("Lausanne", 1000, 1018, 1, 1.4), ("Winterthur", 8400, 8411, 1, 1.2),
              ("Luzern", 6000, 6015, 1, 0.8), ("St. Gallen", 9000, 9016, 1, 0.8))),
    _Country("NL", 0.055, (0.21, 0.09), {"nl": 0.9, "intl": 0.1},
             _words("ziggo.nl,kpnmail.nl,hotmail.com,gmail.com,gmail.com,outlook.com,live.nl"),
             ("B.V.", "V.O.F."), "{n:04d} {a}{b}",
             (("Amsterdam", 1011, 1109, 1, 9), ("Rotterdam", 3011, 3089, 1, 6.5),
              ("Den Haag", 2491, 2599, 1, 5.5), ("Utrecht", 3511, 3585, 1, 3.6),
              ("Eindhoven", 5611, 5658, 1, 2.4), ("Groningen", 9711, 9747, 1, 2.3),
              ("Maastricht", 6211, 6229, 1, 1.2))),
    _Country("FR", 0.04, (0.20, 0.055), {"fr": 0.9, "intl": 0.1},
             _words("orange.fr,free.fr,sfr.fr,laposte.net,gmail.com,gmail.com,hotmail.fr"),
             ("SARL", "SAS", "EURL"), "{n:05d}",
             (("Paris", 75001, 75020, 1, 21), ("Strasbourg", 67000, 67200, 100, 2.9),
              ("Lyon", 69001, 69009, 1, 5.2), ("Lille", 59000, 59800, 100, 2.3),
              ("Metz", 57000, 57070, 10, 1.2), ("Mulhouse", 68100, 68200, 100, 1.1))),
    _Country("BE", 0.035, (0.21, 0.06), {"nl": 0.55, "fr": 0.45},
             _words("telenet.be,skynet.be,proximus.be,gmail.com,gmail.com,hotmail.com"),
             ("BV", "SRL", "NV"), "{n:04d}",
             (("Bruxelles", 1000, 1210, 1, 12), ("Antwerpen", 2000, 2660, 10, 5.3),
              ("Gent", 9000, 9052, 1, 2.6), ("Liège", 4000, 4032, 1, 2),
              ("Leuven", 3000, 3012, 1, 1), ("Namur", 5000, 5101, 1, 1.1))),
    _Country("LU", 0.01, (0.17, 0.08), {"fr": 0.5, "de": 0.5},
             _words("pt.lu,internet.lu,gmail.com,gmail.com"), ("S.à r.l.", "SA"), "L-{n:04d}",
             (("Luxembourg", 1009, 2999, 1, 1.3), ("Esch-sur-Alzette", 4001, 4398, 1, 0.4))),
)  # fmt: skip
_CH = next(i for i, c in enumerate(_COUNTRIES) if c.code == "CH")
_VAT = np.array([c.vat for c in _COUNTRIES])  # [country, reduced]
_NL_LETTERS = np.array(list("ABCEGHJKLMNPRTVWXZ"))
_HOURS = np.array([1, .6, .4, .3, .3, .5, 1, 2, 3, 4, 4.5, 5, 5, 4.5, 4.5, 4.5, 5, 5.5, 6, 7,
                   7.5, 7, 5, 2.5])  # fmt: skip
_HOURS /= _HOURS.sum()
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", " ": "", "'": ""})


@lru_cache(maxsize=4096)
def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.lower().translate(_ASCII))
    return folded.encode("ascii", "ignore").decode()


# ---------------------------------------------------------------------------------------------
# Purchase behaviour (BG/NBD) and people, one block of customer rows at a time
