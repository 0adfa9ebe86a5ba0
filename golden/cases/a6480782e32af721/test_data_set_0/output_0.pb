
Boutput_0JÖ: