
Boutput_0JT 