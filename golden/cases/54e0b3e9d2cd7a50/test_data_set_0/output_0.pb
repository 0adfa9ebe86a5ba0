
Boutput_0JŞ6