
Boutput_0JGA¾