"""Short news texts written for the cross-lingual tests: two look-alike events, four languages.

The ferry story: a ferry capsizes on Lake Victoria near Mwanza, Tanzania; 34 dead.
The look-alike: a ferry capsizes on the Buriganga river near Dhaka, Bangladesh; 11 dead.
Both are told in English, Russian, Arabic and German, on the same two days, so
only what happened (the place, the toll, the names) tells them apart.
"""

from __future__ import annotations

FERRY_MWANZA: dict[str, tuple[str, str]] = {
    "en": (
        "Ferry capsizes on Lake Victoria near Mwanza, at least 34 dead",
        "A passenger ferry carrying more than 200 people capsized on Lake Victoria near the "
        "Tanzanian city of Mwanza on Thursday, killing at least 34, regional commissioner "
        "John Mongella said. Rescuers pulled 80 survivors from the water near Ukara island. "
        "President Samia Suluhu Hassan ordered an inquiry into the overloading of the MV Nyerere.",
    ),
    "ru": (
        "На озере Виктория у Мванзы перевернулся паром, погибли не менее 34 человек",
        "В четверг на озере Виктория недалеко от танзанийского города Мванза перевернулся "
        "пассажирский паром, на борту которого находились более 200 человек. По словам "
        "регионального комиссара Джона Монгеллы, погибли не менее 34 человек. Спасатели "
        "вытащили из воды 80 выживших у острова Укара. Президент Самиа Сулуху Хасан "
        "распорядилась расследовать перегрузку парома MV Nyerere.",
    ),
    "ar": (
        "غرق عبارة في بحيرة فيكتوريا قرب موانزا ومقتل 34 شخصا على الأقل",
        "انقلبت عبارة ركاب كانت تقل أكثر من 200 شخص في بحيرة فيكتوريا قرب مدينة موانزا "
        "التنزانية يوم الخميس، ما أسفر عن مقتل 34 شخصا على الأقل، بحسب المفوض الإقليمي جون "
        "مونغيلا. وانتشل المنقذون 80 ناجيا من المياه قرب جزيرة أوكارا. وأمرت الرئيسة سامية "
        "صولوحو حسن بالتحقيق في تحميل العبارة فوق طاقتها.",
    ),
    "de": (
        "Fähre kentert auf dem Victoriasee bei Mwanza – mindestens 34 Tote",
        "Auf dem Victoriasee ist am Donnerstag nahe der tansanischen Stadt Mwanza eine "
        "Passagierfähre mit mehr als 200 Menschen an Bord gekentert. Mindestens 34 Menschen "
        "kamen ums Leben, sagte Regionalkommissar John Mongella. Retter zogen 80 Überlebende "
        "nahe der Insel Ukara aus dem Wasser. Präsidentin Samia Suluhu Hassan ordnete eine "
        "Untersuchung der Überladung der MV Nyerere an.",
    ),
}

FERRY_DHAKA: dict[str, tuple[str, str]] = {
    "en": (
        "Ferry capsizes on Buriganga river in Dhaka, 11 dead",
        "A crowded river ferry collided with a cargo vessel and capsized on the Buriganga "
        "river in Dhaka on Monday, killing 11 people, Bangladesh's fire service said. Divers "
        "searched for about 20 missing passengers near the Sadarghat terminal. Shipping "
        "minister Khalid Mahmud Chowdhury said the cargo ship's crew had been detained.",
    ),
    "ru": (
        "В Дакке на реке Буриганга перевернулся паром, 11 погибших",
        "В понедельник в Дакке на реке Буриганга переполненный речной паром столкнулся с "
        "грузовым судном и перевернулся, погибли 11 человек, сообщила пожарная служба "
        "Бангладеш. Водолазы ищут около 20 пропавших пассажиров у терминала Садаргхат. "
        "Министр судоходства Халид Махмуд Чоудхури заявил, что экипаж грузового судна задержан.",
    ),
    "ar": (
        "انقلاب عبارة في نهر بوريغانغا في دكا ومقتل 11 شخصا",
        "اصطدمت عبارة نهرية مكتظة بسفينة شحن وانقلبت في نهر بوريغانغا في دكا يوم الاثنين، "
        "ما أسفر عن مقتل 11 شخصا، بحسب جهاز الإطفاء في بنغلادش. وبحث الغواصون عن نحو 20 "
        "راكبا مفقودا قرب محطة صدرغات. وقال وزير الملاحة خالد محمود شودري إن طاقم سفينة "
        "الشحن احتجز.",
    ),
    "de": (
        "Fähre kentert auf dem Fluss Buriganga in Dhaka – 11 Tote",
        "Eine überfüllte Flussfähre ist am Montag in Dhaka auf dem Fluss Buriganga mit einem "
        "Frachtschiff zusammengestoßen und gekentert. Elf Menschen kamen ums Leben, teilte die "
        "Feuerwehr von Bangladesch mit. Taucher suchten nahe dem Terminal Sadarghat nach rund "
        "20 vermissten Passagieren. Schifffahrtsminister Khalid Mahmud Chowdhury sagte, die "
        "Besatzung des Frachters sei festgenommen worden.",
    ),
}
