
Boutput_0JÎ4