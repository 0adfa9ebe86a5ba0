
Boutput_0JK²¿¾T<ÊÀŽK§µ[GzC
Á&¾4¾R8