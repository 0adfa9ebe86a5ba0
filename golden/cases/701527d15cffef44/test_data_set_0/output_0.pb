
Boutput_0J)4Z/