
Boutput_0J=@Е║пе