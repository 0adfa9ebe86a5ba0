
Boutput_0JU·