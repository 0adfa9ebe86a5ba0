
Boutput_1Jĺ