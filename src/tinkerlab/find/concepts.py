"""Concept bank for FIND's entity "neurons": 140 concepts, each with words related to it.

The words serve as search-initialisation hints (the original's ``initial.json``), as positive candidates in
the three-way language unit tests, and as the exemplar pool of the exemplar-search baseline. Written for this
project (the original concept list is not reproduced).
"""

from __future__ import annotations

_BANK = """
sports organizations: FIFA, NBA, Olympics, UEFA, NFL, Wimbledon
elections: ballot, candidate, vote, campaign, referendum, polling
golf: birdie, putter, fairway, caddie, bogey, tee
fruits: apple, mango, banana, cherry, papaya, grape
vegetables: carrot, broccoli, spinach, cabbage, lettuce, onion
birds: sparrow, eagle, parrot, penguin, owl, robin
fish: salmon, trout, tuna, cod, herring, carp
insects: beetle, ant, mosquito, butterfly, wasp, cricket
mammals: whale, elephant, bat, otter, giraffe, horse
reptiles: lizard, crocodile, iguana, tortoise, gecko, python
dogs: poodle, beagle, labrador, terrier, bulldog, husky
cats: kitten, siamese, tabby, persian, meow, whiskers
flowers: tulip, rose, daisy, orchid, lily, sunflower
trees: oak, maple, pine, birch, willow, cedar
weather: rain, storm, thunder, drizzle, forecast, humidity
seasons: winter, spring, summer, autumn, solstice, equinox
oceans: Atlantic, Pacific, tide, reef, seabed, Arctic
mountains: Everest, summit, peak, Alps, Himalaya, ridge
rivers: Nile, Amazon, Danube, Mississippi, tributary, delta
deserts: Sahara, dune, cactus, oasis, Gobi, arid
lakes: Superior, Baikal, Titicaca, lagoon, Tahoe, Victoria
islands: Hawaii, Madagascar, Iceland, Bali, archipelago, atoll
volcanoes: lava, magma, eruption, crater, Vesuvius, Etna
astronomy: galaxy, nebula, telescope, comet, quasar, orbit
planets: Mars, Jupiter, Saturn, Venus, Neptune, Mercury
chemistry: molecule, reagent, catalyst, isotope, titration, acid
physics: quantum, momentum, gravity, photon, entropy, relativity
biology: cell, enzyme, mitosis, organism, chromosome, protein
medicine: surgery, vaccine, diagnosis, antibiotic, clinic, nurse
diseases: influenza, malaria, diabetes, measles, tuberculosis, asthma
anatomy: femur, kidney, liver, skull, tendon, spleen
mathematics: algebra, theorem, integral, matrix, calculus, prime
computers: keyboard, processor, laptop, software, motherboard, RAM
internet: website, browser, email, router, download, hyperlink
programming: compiler, Python, debugging, variable, function, Java
social media: Twitter, Instagram, hashtag, TikTok, Facebook, influencer
music genres: jazz, reggae, hip-hop, blues, techno, punk
musical instruments: violin, trumpet, piano, cello, flute, drum
composers: Mozart, Beethoven, Bach, Chopin, Vivaldi, Wagner
painters: Picasso, Rembrandt, Monet, Vermeer, Dali, Klimt
literature: novel, poem, Shakespeare, sonnet, Tolstoy, prose
theatre: stage, playwright, rehearsal, Broadway, actor, curtain
film: director, screenplay, Hollywood, cinema, trailer, Oscar
television: sitcom, episode, broadcast, remote, channel, series
journalism: reporter, headline, newspaper, editor, interview, press
photography: camera, lens, shutter, tripod, aperture, portrait
architecture: arch, facade, skyscraper, column, cathedral, blueprint
religion: prayer, temple, church, mosque, scripture, monk
mythology: Zeus, Thor, Odin, Athena, Hercules, centaur
philosophy: Plato, ethics, Kant, metaphysics, Socrates, logic
history: empire, medieval, dynasty, revolution, pharaoh, renaissance
war: battle, soldier, tank, artillery, siege, trench
law: judge, lawyer, verdict, court, statute, lawsuit
politics: senator, parliament, minister, policy, governor, congress
economics: inflation, recession, GDP, tariff, supply, interest
banking: loan, mortgage, deposit, teller, credit, vault
stock market: shares, Nasdaq, dividend, broker, bull, portfolio
cryptocurrency: Bitcoin, Ethereum, blockchain, token, wallet, mining
cars: sedan, Toyota, Ferrari, engine, bumper, convertible
aviation: airplane, pilot, runway, cockpit, Boeing, airport
ships: yacht, sailboat, ferry, hull, anchor, frigate
trains: locomotive, railway, station, carriage, subway, tram
bicycles: pedal, handlebar, tandem, cyclist, spokes, saddle
space exploration: NASA, astronaut, rocket, Apollo, satellite, SpaceX
cooking: recipe, oven, simmer, chef, saute, bake
desserts: cake, pudding, tiramisu, cookie, brownie, sorbet
drinks: coffee, tea, lemonade, juice, soda, smoothie
alcohol: wine, beer, whiskey, vodka, rum, champagne
cheese: cheddar, brie, gouda, mozzarella, parmesan, feta
bread: baguette, sourdough, loaf, croissant, rye, bagel
spices: cinnamon, pepper, saffron, cumin, paprika, nutmeg
Italian food: pasta, pizza, risotto, lasagna, gelato, espresso
Japanese food: sushi, ramen, tempura, miso, sashimi, udon
clothing: shirt, trousers, jacket, sweater, dress, scarf
shoes: sneaker, sandal, boot, loafer, heel, slipper
jewelry: necklace, bracelet, earring, diamond, pendant, ruby
fashion: runway, designer, Gucci, couture, model, Vogue
furniture: sofa, chair, wardrobe, table, dresser, bookshelf
kitchen tools: spatula, whisk, ladle, colander, grater, skillet
tools: hammer, wrench, screwdriver, saw, pliers, drill
gardening: shovel, compost, seedling, hoe, greenhouse, mulch
farming: tractor, harvest, barn, plough, livestock, crop
construction: crane, bulldozer, scaffold, cement, bricklayer, excavator
energy: solar, turbine, battery, electricity, nuclear, coal
oil industry: petroleum, refinery, pipeline, drilling, crude, OPEC
colors: red, blue, green, purple, orange, yellow
shapes: circle, triangle, square, hexagon, sphere, cube
numbers: seven, dozen, hundred, million, eleven, zero
time: clock, minute, calendar, hour, century, deadline
emotions: joy, anger, sadness, fear, surprise, disgust
family: mother, father, sister, cousin, grandmother, uncle
education: school, teacher, classroom, homework, exam, university
chess: checkmate, bishop, rook, pawn, castling, gambit
board games: Monopoly, Scrabble, dice, Risk, backgammon, Catan
video games: Nintendo, PlayStation, Minecraft, Zelda, console, Fortnite
toys: doll, Lego, teddy, yo-yo, puzzle, kite
football: goalkeeper, penalty, striker, offside, midfielder, dribble
basketball: dunk, rebound, Lakers, hoop, layup, Jordan
tennis: racket, serve, deuce, Federer, volley, backhand
baseball: pitcher, homerun, inning, shortstop, Yankees, bat
cricket sport: wicket, bowler, batsman, innings, Ashes, stumps
swimming: freestyle, butterfly stroke, pool, goggles, lap, diving
winter sports: skiing, snowboard, skating, bobsled, curling, slalom
martial arts: karate, judo, kung fu, taekwondo, dojo, black belt
running: marathon, sprint, jogging, relay, hurdles, track
hotels: reception, suite, concierge, lobby, booking, resort
tourism: passport, souvenir, sightseeing, itinerary, tourist, guidebook
camping: tent, campfire, sleeping bag, lantern, hiking, trail
cities of Europe: Paris, Berlin, Madrid, Rome, Vienna, Prague
cities of Asia: Tokyo, Beijing, Mumbai, Seoul, Bangkok, Jakarta
African countries: Kenya, Nigeria, Ghana, Egypt, Ethiopia, Morocco
South American countries: Brazil, Argentina, Peru, Chile, Colombia, Uruguay
US states: Texas, California, Ohio, Florida, Nevada, Oregon
languages: English, Spanish, Mandarin, Swahili, Hindi, Arabic
royalty: king, queen, prince, throne, crown, duchess
crime: robbery, thief, burglary, detective, fraud, arrest
police: officer, sheriff, handcuffs, patrol, badge, precinct
fire: flame, smoke, firefighter, blaze, ember, extinguisher
water: liquid, droplet, faucet, splash, moisture, puddle
ice: glacier, frost, icicle, frozen, iceberg, snowflake
light: lamp, bulb, sunlight, lantern, beam, glow
sound: noise, echo, decibel, loudspeaker, whisper, volume
metals: iron, copper, gold, silver, aluminium, titanium
gemstones: emerald, sapphire, topaz, opal, amethyst, garnet
robots: android, automaton, servo, humanoid, cyborg, robotics
artificial intelligence: neural network, machine learning, chatbot, GPT, algorithm, deep learning
dinosaurs: Tyrannosaurus, Triceratops, Velociraptor, fossil, Jurassic, Stegosaurus
pirates: buccaneer, treasure, parrot, plank, Blackbeard, galleon
fairy tales: Cinderella, dragon, witch, Snow White, castle, enchanted
superheroes: Batman, Superman, Spider-Man, cape, Avengers, Wonder Woman
Halloween: pumpkin, ghost, costume, candy, skeleton, witch
Christmas: Santa, reindeer, mistletoe, ornament, sleigh, carol
weddings: bride, groom, vows, bouquet, veil, honeymoon
babies: diaper, cradle, infant, pacifier, stroller, newborn
hospitals: ward, ambulance, stretcher, ICU, surgeon, emergency
pharmacy: pill, prescription, tablet, dosage, pharmacist, ointment
dentistry: tooth, cavity, dentist, molar, braces, floss
hygiene: soap, shampoo, toothbrush, shower, towel, deodorant
office: desk, stapler, printer, meeting, cubicle, memo
mail: letter, envelope, stamp, postman, parcel, mailbox
"""


def _parse(text: str) -> dict[str, list[str]]:
    bank: dict[str, list[str]] = {}
    for line in text.strip().splitlines():
        name, words = line.split(":", 1)
        bank[name.strip()] = [w.strip() for w in words.split(",") if w.strip()]
    return bank


CONCEPTS: dict[str, list[str]] = _parse(_BANK)
"""Concept name -> related words (at least six each)."""
