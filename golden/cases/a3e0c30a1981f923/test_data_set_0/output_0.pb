
Boutput_0JÈ;