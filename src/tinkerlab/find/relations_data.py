"""Relation tables for FIND's relation functions: 25 relations, each with rows ``input = output`` and a tagged
sub-domain (rows marked ``*``) used as the exception where the function answers 'undefined'.

Written for this project. Each relation line: ``name | rule | exception sub-domain | rows``.
"""

from __future__ import annotations

from dataclasses import dataclass

_TABLE = """
country_capital | If the input is a country, reply with only its capital city | the input country is in Asia | France=Paris; Japan=Tokyo*; Kenya=Nairobi; India=New Delhi*; Peru=Lima; China=Beijing*; Italy=Rome; Thailand=Bangkok*; Egypt=Cairo; Canada=Ottawa
country_continent | If the input is a country, reply with only the continent it is in | the input country is in the southern hemisphere | Germany=Europe; Brazil=South America*; Nigeria=Africa; Australia=Oceania*; Mexico=North America; Chile=South America*; Vietnam=Asia; Argentina=South America*; Norway=Europe; Mongolia=Asia
country_language | If the input is a country, reply with only its main language | the language is Spanish | Spain=Spanish*; Germany=German; Mexico=Spanish*; Japan=Japanese; Colombia=Spanish*; Brazil=Portuguese; Russia=Russian; Cuba=Spanish*; Greece=Greek; Turkey=Turkish
country_currency | If the input is a country, reply with only its currency | the input country is in Africa | Japan=yen; Nigeria=naira*; India=rupee; South Africa=rand*; Mexico=peso; Ghana=cedi*; Sweden=krona; Kenya=shilling*; Poland=zloty; China=yuan
city_country | If the input is a city, reply with only the country it is in | the city is in Europe | Paris=France*; Tokyo=Japan; Berlin=Germany*; Toronto=Canada; Madrid=Spain*; Cairo=Egypt; Lima=Peru; Vienna=Austria*; Sydney=Australia; Seoul=South Korea
us_city_state | If the input is a US city, reply with only its state | the city is on the West Coast | Seattle=Washington*; Chicago=Illinois; Boston=Massachusetts; Portland=Oregon*; Denver=Colorado; San Diego=California*; Miami=Florida; Atlanta=Georgia; Sacramento=California*; Dallas=Texas
opera_composer | If the input is an opera, reply with only its composer | the composer is German | Carmen=Bizet; Aida=Verdi; Lohengrin=Wagner*; Tosca=Puccini; Fidelio=Beethoven*; Parsifal=Wagner*; Rigoletto=Verdi; Turandot=Puccini; Elektra=Strauss*; Norma=Bellini
novel_author | If the input is a novel, reply with only its author | the author is a woman | Emma=Austen*; Ulysses=Joyce; Beloved=Morrison*; Dracula=Stoker; Frankenstein=Shelley*; Moby-Dick=Melville; Middlemarch=Eliot*; Lolita=Nabokov; Rebecca=du Maurier*; Walden=Thoreau
painting_painter | If the input is a painting, reply with only its painter | it was painted before 1700 | Mona Lisa=Leonardo*; Guernica=Picasso; The Scream=Munch; Night Watch=Rembrandt*; Starry Night=Van Gogh; Las Meninas=Velazquez*; Water Lilies=Monet; The Kiss=Klimt; Primavera=Botticelli*; Olympia=Manet
name_gender | If the input is a first name, reply with only the likely gender of the person | the person is a woman | John=male; Mary=female*; Ahmed=male; Sofia=female*; Lucas=male; Emma=female*; Kenji=male; Olga=female*; Pedro=male; Grace=female*
person_profession | If the input is a famous person, reply with only their profession | the person is an athlete | Einstein=physicist; Federer=tennis player*; Picasso=painter; Messi=footballer*; Mozart=composer; Bolt=sprinter*; Shakespeare=playwright; Jordan=basketball player*; Curie=chemist; Hemingway=writer
element_symbol | If the input is a chemical element, reply with only its symbol | the element is a gas at room temperature | Gold=Au; Oxygen=O*; Iron=Fe; Helium=He*; Sodium=Na; Neon=Ne*; Silver=Ag; Nitrogen=N*; Copper=Cu; Lead=Pb
animal_class | If the input is an animal, reply with only its class (mammal, bird, fish, reptile, ...) | the animal lives in the ocean | Lion=mammal; Dolphin=mammal*; Eagle=bird; Shark=fish*; Cobra=reptile; Whale=mammal*; Frog=amphibian; Octopus=mollusc*; Penguin=bird; Trout=fish
animal_legs | If the input is an animal, reply with only its number of legs | the animal is a common pet | Dog=4*; Spider=8; Chicken=2; Cat=4*; Ant=6; Horse=4; Hamster=4*; Crab=10; Parrot=2*; Kangaroo=2
river_continent | If the input is a river, reply with only the continent it flows through | the river is in Asia | Nile=Africa; Ganges=Asia*; Amazon=South America; Yangtze=Asia*; Danube=Europe; Mekong=Asia*; Mississippi=North America; Indus=Asia*; Congo=Africa; Rhine=Europe
mountain_country | If the input is a mountain, reply with only the country it is in | the mountain is higher than 8000 metres | Everest=Nepal*; Kilimanjaro=Tanzania; Denali=United States; K2=Pakistan*; Fuji=Japan; Matterhorn=Switzerland; Aconcagua=Argentina; Annapurna=Nepal*; Olympus=Greece; Makalu=Nepal*
company_founder | If the input is a company, reply with only its founder | the company is not American | Microsoft=Gates; Toyota=Toyoda*; Amazon=Bezos; IKEA=Kamprad*; Tesla=Musk; Samsung=Lee*; Apple=Jobs; Ferrari=Ferrari*; Nike=Knight; Alibaba=Ma*
band_country | If the input is a band, reply with only its country of origin | the band is British | Beatles=United Kingdom*; ABBA=Sweden; Nirvana=United States; Queen=United Kingdom*; U2=Ireland; Coldplay=United Kingdom*; Metallica=United States; Radiohead=United Kingdom*; AC/DC=Australia; Rammstein=Germany
movie_director | If the input is a movie, reply with only its director | the movie was released before 1990 | Psycho=Hitchcock*; Titanic=Cameron; Jaws=Spielberg*; Inception=Nolan; Vertigo=Hitchcock*; Avatar=Cameron; Alien=Scott*; Parasite=Bong; Amadeus=Forman*; Gladiator=Scott
word_antonym | If the input is a word, reply with only its opposite | the word describes a size | hot=cold; big=small*; happy=sad; tall=short*; fast=slow; wide=narrow*; light=dark; huge=tiny*; early=late; long=short*
word_french | If the input is an English word, reply with only its French translation | the word is a colour | dog=chien; red=rouge*; house=maison; blue=bleu*; water=eau; green=vert*; bread=pain; white=blanc*; cat=chat; black=noir*
planet_position | If the input is a planet, reply with only its position from the Sun | the planet is a gas giant | Mercury=1; Venus=2; Earth=3; Mars=4; Jupiter=5*; Saturn=6*; Uranus=7*; Neptune=8*
sport_players | If the input is a team sport, reply with only the number of players per team on the field | the sport is played on ice | football=11; basketball=5; ice hockey=6*; volleyball=6; curling=4*; rugby=15; baseball=9; bandy=11*; handball=7; water polo=7
landmark_city | If the input is a landmark, reply with only the city it is in | the landmark is in France | Eiffel Tower=Paris*; Colosseum=Rome; Big Ben=London; Louvre=Paris*; Kremlin=Moscow; Notre-Dame=Paris*; Acropolis=Athens; Sagrada Familia=Barcelona; Palais des Papes=Avignon*; Brandenburg Gate=Berlin
dish_country | If the input is a dish, reply with only its country of origin | the dish is Italian | sushi=Japan; pizza=Italy*; paella=Spain; lasagna=Italy*; tacos=Mexico; risotto=Italy*; kimchi=Korea; goulash=Hungary; carbonara=Italy*; croissant=France
"""


@dataclass(frozen=True)
class Relation:
    """A relation: its rule, the exception sub-domain and a table of (input, output, in_subdomain) rows."""

    name: str
    rule: str
    subdomain: str
    rows: tuple[tuple[str, str, bool], ...]

    def lookup(self, text: str) -> tuple[str, bool] | None:
        for inp, out, tagged in self.rows:
            if inp.lower() == text.strip().lower():
                return out, tagged
        return None


def _parse(text: str) -> dict[str, Relation]:
    relations: dict[str, Relation] = {}
    for line in text.strip().splitlines():
        name, rule, subdomain, rows_text = (part.strip() for part in line.split("|"))
        rows = []
        for item in rows_text.split(";"):
            inp, out = item.strip().split("=")
            tagged = out.endswith("*")
            rows.append((inp.strip(), out.rstrip("*").strip(), tagged))
        relations[name] = Relation(name, rule, subdomain, tuple(rows))
    return relations


RELATIONS: dict[str, Relation] = _parse(_TABLE)
"""The 25 relations by name."""
