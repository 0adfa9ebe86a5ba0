
Boutput_0J-F-Ğ-F	1