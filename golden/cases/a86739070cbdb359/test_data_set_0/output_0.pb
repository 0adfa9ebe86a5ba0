
Boutput_0JËCx87Ø=