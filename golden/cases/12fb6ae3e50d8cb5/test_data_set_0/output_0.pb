
Boutput_0Jì;Ÿ