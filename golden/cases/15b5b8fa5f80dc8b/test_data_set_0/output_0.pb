
Boutput_0JÄ: