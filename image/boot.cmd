# cordon's A/B boot with counted attempts, for U-Boot's distro boot (`mkimage -T script` makes
# boot.scr of it; image/build puts it on both boot partitions, so either one can start the box).
#
# The state is RAUC's U-Boot model: BOOT_ORDER lists the slots to try, BOOT_A_LEFT and
# BOOT_B_LEFT their attempts left. It lives on the `bootstate` partition as two copies of a
# CRC-checked environment (`env export -c`, 4 KiB each, at blocks 0 and 8); the valid copy with
# the higher BOOT_SEQ wins and a write goes to the other copy, so a power cut in any write
# leaves the previous state. No valid copy: the factory state (A, 3 attempts; B none).
# gateway/store/src/boot.rs reads and writes the same records on the running box.
#
# Each boot takes the first slot in the order with attempts left, counts one off, writes the
# state (the kernel command line says cordon.last_attempt when that was the slot's last), then
# loads that slot's kernel, initramfs and slot.env (its dm-verity root hash) from
# its own boot partition. `cordon slot mark-good` gives the attempts back once cordon is
# healthy; a slot that never gets there runs out of attempts and the next slot boots.

setenv cordon_st 0x4c000000
setenv cordon_env 0x4c100000

setenv BOOT_SEQ 0
setenv BOOT_ORDER "A B"
setenv BOOT_A_LEFT 3
setenv BOOT_B_LEFT 0
setenv cordon_copy none
setenv cordon_lba

if part start ${devtype} ${devnum} bootstate cordon_lba; then
    setexpr cordon_lba1 ${cordon_lba} + 8
    if ${devtype} read ${cordon_st} ${cordon_lba} 8 && env import -c ${cordon_st} 0x1000 BOOT_SEQ BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then
        setenv cordon_copy 0
        setenv cordon_c0_seq ${BOOT_SEQ}
        setenv cordon_c0_order "${BOOT_ORDER}"
        setenv cordon_c0_a ${BOOT_A_LEFT}
        setenv cordon_c0_b ${BOOT_B_LEFT}
    fi
    if ${devtype} read ${cordon_st} ${cordon_lba1} 8 && env import -c ${cordon_st} 0x1000 BOOT_SEQ BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then
        if test "${cordon_copy}" = none; then
            setenv cordon_copy 1
        elif itest ${BOOT_SEQ} -gt ${cordon_c0_seq}; then
            setenv cordon_copy 1
        else
            setenv BOOT_SEQ ${cordon_c0_seq}
            setenv BOOT_ORDER "${cordon_c0_order}"
            setenv BOOT_A_LEFT ${cordon_c0_a}
            setenv BOOT_B_LEFT ${cordon_c0_b}
        fi
    fi
else
    echo "cordon: no bootstate partition: booting slot A without counting"
fi
echo "cordon: boot state copy ${cordon_copy}: seq ${BOOT_SEQ}, order ${BOOT_ORDER}, A ${BOOT_A_LEFT} left, B ${BOOT_B_LEFT} left"

setenv cordon_slot
setenv cordon_last
for s in ${BOOT_ORDER}; do
    if test -z "${cordon_slot}"; then
        if test "${s}" = A && itest ${BOOT_A_LEFT} -gt 0; then
            setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
            setenv cordon_slot a
            if itest ${BOOT_A_LEFT} -eq 0; then
                setenv cordon_last cordon.last_attempt
            fi
        elif test "${s}" = B && itest ${BOOT_B_LEFT} -gt 0; then
            setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
            setenv cordon_slot b
            if itest ${BOOT_B_LEFT} -eq 0; then
                setenv cordon_last cordon.last_attempt
            fi
        fi
    fi
done
if test -z "${cordon_slot}"; then
    # Both slots used their attempts: give both 3 again rather than leave the box dead (RAUC
    # does the same); the first in the order boots.
    echo "cordon: no slot has attempts left: both get 3 again"
    setenv BOOT_A_LEFT 3
    setenv BOOT_B_LEFT 3
    for s in ${BOOT_ORDER}; do
        if test -z "${cordon_slot}"; then
            if test "${s}" = A; then
                setenv BOOT_A_LEFT 2
                setenv cordon_slot a
            else
                setenv BOOT_B_LEFT 2
                setenv cordon_slot b
            fi
        fi
    done
fi

if test -n "${cordon_lba}"; then
    setexpr BOOT_SEQ ${BOOT_SEQ} + 1
    env export -c -s 0x1000 ${cordon_st} BOOT_A_LEFT BOOT_B_LEFT BOOT_ORDER BOOT_SEQ
    if test "${cordon_copy}" = 0; then
        ${devtype} write ${cordon_st} ${cordon_lba1} 8
    else
        ${devtype} write ${cordon_st} ${cordon_lba} 8
    fi
fi
echo "cordon: booting slot ${cordon_slot} (A ${BOOT_A_LEFT} left, B ${BOOT_B_LEFT} left, write ${BOOT_SEQ})"

part number ${devtype} ${devnum} boot-${cordon_slot} cordon_part
setenv cordon_root_hash
if ext4load ${devtype} ${devnum}:${cordon_part} ${cordon_env} /slot.env; then
    env import -t ${cordon_env} ${filesize}
fi
if test -z "${cordon_root_hash}"; then
    echo "cordon: slot ${cordon_slot} has no slot.env: resetting (its attempt is counted)"
    reset
fi
ext4load ${devtype} ${devnum}:${cordon_part} ${kernel_addr_r} /vmlinuz || reset
ext4load ${devtype} ${devnum}:${cordon_part} ${ramdisk_addr_r} /initrd.img || reset
setenv cordon_initrd_size ${filesize}
setenv bootargs "${cordon_cmdline} cordon.slot=${cordon_slot} cordon.version=${cordon_version} cordon.verity=${cordon_data_blocks}:${cordon_root_hash}:${cordon_salt} ${cordon_last}"
booti ${kernel_addr_r} ${ramdisk_addr_r}:${cordon_initrd_size} ${fdtcontroladdr}
echo "cordon: booti failed: resetting (the attempt is counted)"
reset
